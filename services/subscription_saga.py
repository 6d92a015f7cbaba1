"""Durable execution with retries, and a saga (seed 004, subscription service).

`add` takes a recurring payment, then creates each subscription with its provider. Provider
calls run in ctx.run: transient failures are retried, at most MAX_ATTEMPTS times (RunOptions);
a provider that keeps failing makes the step fail for good (a terminal error). Then the
saga undoes what was done, in reverse (cancel the subscriptions, refund the payment), and
the client gets the terminal error.

Guarantee: every subscription and payment is created effectively once (idempotency keys
that are the same on every attempt: the payment id comes from ctx.uuid()); a request either
ends subscribed to everything, or in a terminal error with nothing half-done.

API: Service `SubscriptionService`, add({"user", "subscriptions": [str], "amount": int})
     -> {"user", "status": "subscribed", "subscriptions": [...]}.
World: charge / refund with key "<user>:pay"; reserve / cancel with key "<user>:<name>".
"""

from datetime import timedelta

import restate
from restate.exceptions import TerminalError

from harness.world.client import world_action

MAX_ATTEMPTS = 4  # > the transient failures the scenario injects
RETRIES = restate.RunOptions(
    max_attempts=MAX_ATTEMPTS,
    initial_retry_interval=timedelta(milliseconds=20),
    max_retry_interval=timedelta(milliseconds=200),
)

service = restate.Service("SubscriptionService")


def world_call(op: str, user: str, step: str, idem: str, **fields):
    return world_action(op, timeout=1.0, key=f"{user}:{step}", idem=idem, **fields)


@service.handler()
async def add(ctx: restate.Context, req: dict) -> dict:
    return await subscribe(ctx, req, RETRIES)


async def subscribe(ctx: restate.Context, req: dict, retries: restate.RunOptions) -> dict:
    """The saga: pay, then subscribe to each; undo in reverse on a terminal error. Each
    provider call is retried under `retries`."""
    user, subs = req["user"], req["subscriptions"]
    payment_id = str(ctx.uuid())  # journaled: the same on every retry and replay
    undo = []
    try:
        undo.append(
            (
                "refund",
                world_call("refund", user, "pay", f"refund-{payment_id}", amount=req["amount"]),
            )
        )
        await ctx.run_typed(
            "pay",
            world_call("charge", user, "pay", f"pay-{payment_id}", amount=req["amount"]),
            retries,
        )
        for sub in subs:
            undo.append((f"cancel {sub}", world_call("cancel", user, sub, f"cancel-{user}-{sub}")))
            await ctx.run_typed(
                f"add-{sub}", world_call("reserve", user, sub, f"sub-{user}-{sub}"), retries
            )
    except TerminalError:
        for name, step in reversed(undo):
            await ctx.run_typed(name, step)
        raise
    return {"user": user, "status": "subscribed", "subscriptions": subs}


app = restate.app(services=[service])
