"""BROKEN products: who holds a product is kept in a module-level dict.

Same API as services/products.py. A kill of the service forgets every reservation, so a
product can be reserved again by a different reservation: two winners, two reservations in
the inventory.
"""

import restate

from harness.world.client import world

products = restate.VirtualObject("Products")
HOLDERS: dict[str, str] = {}


@products.handler()
async def reserve(ctx: restate.ObjectContext, req: dict) -> dict:
    if ctx.key() in HOLDERS:
        return {"reserved": False}
    product, reservation = ctx.key(), req["reservation"]

    async def reserve_in_inventory() -> dict:
        return await world().call(
            "reserve", key=product, resource=product, idem=f"reserve-{product}-{reservation}"
        )

    await ctx.run_typed("reserve", reserve_in_inventory)
    HOLDERS[product] = reservation
    return {"reserved": True}


@products.handler(kind="shared")
async def holder(ctx: restate.ObjectSharedContext) -> str | None:
    return HOLDERS.get(ctx.key())


app = restate.app(services=[products])
