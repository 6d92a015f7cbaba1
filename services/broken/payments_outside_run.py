"""BROKEN payments: the gateway charge is made outside ctx.run, with a fresh key.

Same API as services/payments.py. Every replay of the handler (after any crash or
suspension) calls the gateway again, so a payment is charged more than once.
"""

import uuid

import restate

from .. import payments as good
from ..payments import charge_at_gateway

payments = restate.VirtualObject("Payments")


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    existing = await ctx.get("payment", type_hint=dict)
    if existing is not None:
        return existing
    payment_id = ctx.key()
    # the bug: not journaled, so it runs again on every replay, with a fresh key
    result = await charge_at_gateway(payment_id, req, idem=str(uuid.uuid4()))
    payment = good.payment_record(payment_id, req, result)
    ctx.set("payment", payment)
    return payment


payments.handler(kind="shared")(good.get)
payments.handler()(good.refund)
app = restate.app(services=[payments])
