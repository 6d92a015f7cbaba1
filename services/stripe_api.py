"""Stripe-style payment API (seed 003): the idempotency token travels in the request body.

A plain service `StripePayments` takes {"key": token, "request": {...}} and forwards to the
PaymentProcessor virtual object keyed by that token with durable RPC, so requests and
cancellations for one token are serialized and deduplicated there. Same guarantees as
services/payment_processor.py.

API: Service `StripePayments`: makePayment({"key", "request": {"account", "amount"}}),
     cancelPayment({"key"}); plus the PaymentProcessor object itself.
"""

import restate

from .payment_processor import cancel_payment, make_payment, processor

api = restate.Service("StripePayments")


@api.handler(name="makePayment")
async def make(ctx: restate.Context, req: dict) -> dict:
    return await ctx.object_call(make_payment, key=req["key"], arg=req["request"])


@api.handler(name="cancelPayment")
async def cancel(ctx: restate.Context, req: dict) -> dict:
    return await ctx.object_call(cancel_payment, key=req["key"], arg=None)


app = restate.app(services=[api, processor])
