"""BROKEN Counter: keeps the value in a module-level dict instead of Restate state.

Same API as services/counter.py. A kill of the service process forgets every increment,
so the smoke scenario must report lost increments.
"""

import restate

counter = restate.VirtualObject("Counter")
VALUES: dict[str, int] = {}


@counter.handler()
async def add(ctx: restate.ObjectContext, delta: int) -> int:
    VALUES[ctx.key()] = VALUES.get(ctx.key(), 0) + delta
    return VALUES[ctx.key()]


@counter.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> int:
    return VALUES.get(ctx.key(), 0)


app = restate.app(services=[counter])
