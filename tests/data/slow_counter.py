"""A counter whose `add` takes `delay` seconds inside ctx.run (the stream stays open), and
counts its attempts per key in the process: what the network proxy's tests reset."""

import asyncio

import restate

counter = restate.VirtualObject("Counter")
ATTEMPTS: dict[str, int] = {}


@counter.handler()
async def add(ctx: restate.ObjectContext, delay: float) -> int:
    ATTEMPTS[ctx.key()] = ATTEMPTS.get(ctx.key(), 0) + 1

    async def work() -> None:
        await asyncio.sleep(delay)

    await ctx.run_typed("work", work)
    value = (await ctx.get("value", type_hint=int) or 0) + 1
    ctx.set("value", value)
    return value


@counter.handler(kind="shared")
async def attempts(ctx: restate.ObjectSharedContext) -> int:
    return ATTEMPTS.get(ctx.key(), 0)


app = restate.app(services=[counter])
