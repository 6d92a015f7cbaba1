"""BROKEN subscription service: its retry budget (2 attempts) is smaller than the transient
failures of the providers (each call fails its first 2 attempts), so every step fails for
good and every user gets a terminal error, compensated cleanly. Same API and saga as
services/subscription_saga.py; only the budget differs."""

from datetime import timedelta

import restate

from ..subscription_saga import subscribe

SMALL_BUDGET = restate.RunOptions(  # the bug: fewer attempts than a provider's failures
    max_attempts=2,
    initial_retry_interval=timedelta(milliseconds=20),
    max_retry_interval=timedelta(milliseconds=200),
)

service = restate.Service("SubscriptionService")


@service.handler()
async def add(ctx: restate.Context, req: dict) -> dict:
    return await subscribe(ctx, req, SMALL_BUDGET)


app = restate.app(services=[service])
