"""Durable RPC with idempotency (seed 000): product reservations.

A virtual object keyed by product id. `reserve({"reservation": id})` is sent with the
reservation id as the `idempotency-key` header.

Guarantee: each product is reserved at most once (exclusive handler per product, state
checked before acting); the reservation reaches the inventory system (the world) once,
inside ctx.run with the reservation id as its idempotency key; a repeated request
returns the first answer (Restate's idempotency table), across kills of service and server.

API: reserve({"reservation": str}) -> {"reserved": bool}, holder() -> str | None.
"""

import restate

from harness.world.client import world

products = restate.VirtualObject("Products")


@products.handler()
async def reserve(ctx: restate.ObjectContext, req: dict) -> dict:
    if await ctx.get("holder", type_hint=str) is not None:
        return {"reserved": False}
    product, reservation = ctx.key(), req["reservation"]

    async def reserve_in_inventory() -> dict:
        return await world().call(
            "reserve", key=product, resource=product, idem=f"reserve-{product}-{reservation}"
        )

    await ctx.run_typed("reserve", reserve_in_inventory)
    ctx.set("holder", reservation)
    return {"reserved": True}


@products.handler(kind="shared")
async def holder(ctx: restate.ObjectSharedContext) -> str | None:
    return await ctx.get("holder", type_hint=str)


app = restate.app(services=[products])
