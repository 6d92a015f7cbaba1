"""A payments service whose handlers are named otherwise."""

import restate

payments = restate.VirtualObject("Payments")


@payments.handler("makePayment")
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    return {}


app = restate.app(services=[payments])
