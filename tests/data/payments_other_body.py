"""A payments service whose create takes another body: {"cents": int, "card": str}."""

import restate

payments = restate.VirtualObject("Payments")


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    return {"id": ctx.key(), "status": "completed", "cents": req["cents"]}


@payments.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> dict | None:
    return None


@payments.handler()
async def refund(ctx: restate.ObjectContext) -> dict:
    return {}


app = restate.app(services=[payments])
