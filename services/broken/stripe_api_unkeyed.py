"""BROKEN Stripe-style API: forwards each request to an object keyed by the request, not by
the token. Same API as services/stripe_api.py: a cancel lands on a different object than
its payment (no refund), and duplicates are charged again.
"""

import restate

from ..payment_processor import cancel_payment, make_payment, processor

api = restate.Service("StripePayments")


@api.handler(name="makePayment")
async def make(ctx: restate.Context, req: dict) -> dict:
    key = f"{req['key']}-{ctx.request().id}"  # the bug: not the token
    return await ctx.object_call(make_payment, key=key, arg=req["request"])


@api.handler(name="cancelPayment")
async def cancel(ctx: restate.Context, req: dict) -> dict:
    return await ctx.object_call(cancel_payment, key=f"{req['key']}-{ctx.request().id}", arg=None)


app = restate.app(services=[api, processor])
