"""A service whose work is due a day later (a durable sleep, a delayed call), or takes a
while in one step."""

import asyncio
from datetime import timedelta

import restate

sleeper = restate.Service("Sleeper")


@sleeper.handler()
async def nap(ctx: restate.Context, seconds: int) -> str:
    await ctx.sleep(timedelta(seconds=seconds))
    return "woke"


@sleeper.handler()
async def later(ctx: restate.Context, seconds: int) -> str:
    ctx.service_send(nap, arg=1, send_delay=timedelta(seconds=seconds))
    return "sent"


@sleeper.handler()
async def work(ctx: restate.Context, seconds: int) -> str:
    async def step() -> str:
        await asyncio.sleep(seconds)  # a long step: its journal does not grow meanwhile
        return "done"

    return await ctx.run_typed("work", step)


app = restate.app(services=[sleeper])
