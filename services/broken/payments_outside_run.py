"""BROKEN payments: the gateway charge is made outside ctx.run, with a fresh key.

Same API as services/payments.py. Every replay of the handler (after any crash or
suspension) calls the gateway again, so a payment is charged more than once.
"""

import uuid

import restate

from harness.world.client import Declined, world
from services import payments as good

payments = restate.VirtualObject("Payments")


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    existing = await ctx.get("payment", type_hint=dict)
    if existing is not None:
        return existing
    payment_id = ctx.key()
    try:  # the bug: not journaled, so it runs again on every replay
        result = await world().call(
            "charge",
            key=payment_id,
            idem=str(uuid.uuid4()),
            amount=req["amount"],
            account=req["account"],
        )
    except Declined:
        result = {"declined": True}
    payment = {
        "id": payment_id,
        "amount": req["amount"],
        "account": req["account"],
        "status": "declined" if result.get("declined") else "completed",
        "charge_id": result.get("id"),
    }
    ctx.set("payment", payment)
    return payment


payments.handler(kind="shared")(good.get)
payments.handler()(good.refund)
app = restate.app(services=[payments])
