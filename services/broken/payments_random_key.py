"""BROKEN payments: the gateway idempotency key is a uuid4 made inside the run block.

Same API as services/payments.py. When the service dies after the gateway charged but
before the journal entry reached the server, the retry charges again under a fresh key:
a double charge in exactly the window the event-triggered kill aims at.
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

    async def charge() -> dict:
        try:  # the bug: a new key on every attempt
            return await world().call(
                "charge",
                key=payment_id,
                idem=str(uuid.uuid4()),
                amount=req["amount"],
                account=req["account"],
            )
        except Declined:
            return {"declined": True}

    result = await ctx.run_typed("charge", charge)
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
