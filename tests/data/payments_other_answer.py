"""A payments service that answers in another shape: {"paymentId", "state": "OK"}."""

import restate

payments = restate.VirtualObject("Payments")


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    return {"paymentId": ctx.key(), "state": "OK"}


@payments.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> dict | None:
    return None


@payments.handler()
async def refund(ctx: restate.ObjectContext) -> dict:
    return {"paymentId": ctx.key(), "state": "REFUNDED"}


app = restate.app(services=[payments])
