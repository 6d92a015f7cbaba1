"""Counter: a virtual object keyed by counter name.

Guarantee: `add` runs exclusively per key and Restate deduplicates requests by their
`idempotency-key` header, so a counter equals the number of distinct idempotency keys that
were accepted for it: no lost and no doubled increment, across kills of service and server.
"""

import restate

counter = restate.VirtualObject("Counter")


@counter.handler()
async def add(ctx: restate.ObjectContext, delta: int) -> int:
    value = (await ctx.get("value", type_hint=int) or 0) + delta
    ctx.set("value", value)
    return value


@counter.handler(kind="shared")
async def get(ctx: restate.ObjectSharedContext) -> int:
    return await ctx.get("value", type_hint=int) or 0


app = restate.app(services=[counter])
