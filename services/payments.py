"""Idempotent payments (seed 002): a virtual object keyed by payment id.

Guarantee: a payment is charged at most once, however often `create` is sent, retried, or
interrupted by crashes; a refund happens at most once; `create` answers the same for the
same payment. How: the gateway charge runs inside `ctx.run` with the payment id as the
gateway's idempotency key (the same on every attempt), so a retry after a crash between the
charge and its journal entry is deduplicated by the gateway; state dedupes later requests.

API: create({"amount": int, "account": str}) -> payment, get() -> payment | None,
     refund() -> payment. A payment is {"id", "amount", "account", "status", "charge_id"},
     status one of completed | declined | refunded.
"""

import restate

from harness.world.client import Declined, world

payments = restate.VirtualObject("Payments")


async def charge_at_gateway(payment_id: str, req: dict, idem: str) -> dict:
    """The gateway charge; a decline is an answer ({"declined": True}), not an error."""
    try:
        return await world().call(
            "charge", key=payment_id, idem=idem, amount=req["amount"], account=req["account"]
        )
    except Declined:
        return {"declined": True}


def payment_record(payment_id: str, req: dict, charged: dict) -> dict:
    return {
        "id": payment_id,
        "amount": req["amount"],
        "account": req["account"],
        "status": "declined" if charged.get("declined") else "completed",
        "charge_id": charged.get("id"),
    }


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    existing = await ctx.get("payment", type_hint=dict)
    if existing is not None:
        return existing
    if not isinstance(req.get("amount"), int) or req["amount"] <= 0:
        raise restate.TerminalError("amount must be a positive integer", 400)
    payment_id = ctx.key()

    async def charge() -> dict:
        return await charge_at_gateway(payment_id, req, idem=f"charge-{payment_id}")

    payment = payment_record(payment_id, req, await ctx.run_typed("charge", charge))
    ctx.set("payment", payment)
    return payment


@payments.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> dict | None:
    return await ctx.get("payment", type_hint=dict)


@payments.handler()
async def refund(ctx: restate.ObjectContext) -> dict:
    payment = await ctx.get("payment", type_hint=dict)
    if payment is None:
        raise restate.TerminalError("no such payment", 404)
    if payment["status"] != "completed":
        return payment  # already refunded, or never charged
    payment_id = ctx.key()

    async def refund_charge() -> dict:
        return await world().call(
            "refund",
            key=payment_id,
            idem=f"refund-{payment_id}",
            amount=payment["amount"],
            account=payment["account"],
        )

    await ctx.run_typed("refund", refund_charge)
    payment = {**payment, "status": "refunded"}
    ctx.set("payment", payment)
    return payment


app = restate.app(services=[payments])
