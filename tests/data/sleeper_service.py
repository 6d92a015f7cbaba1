"""A service whose work is due a day later: a durable sleep, and a delayed call."""

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


app = restate.app(services=[sleeper])
