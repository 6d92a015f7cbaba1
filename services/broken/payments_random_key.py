"""BROKEN payments: the gateway idempotency key is a uuid4 made inside the run block.

Same API as services/payments.py. When the service dies after the gateway charged but
before the journal entry reached the server, the retry charges again under a fresh key:
a double charge in exactly the window the event-triggered kill aims at.
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

    async def charge() -> dict:  # the bug: a new key on every attempt
        return await charge_at_gateway(payment_id, req, idem=str(uuid.uuid4()))

    payment = good.payment_record(payment_id, req, await ctx.run_typed("charge", charge))
    ctx.set("payment", payment)
    return payment


payments.handler(kind="shared")(good.get)
payments.handler()(good.refund)
app = restate.app(services=[payments])
