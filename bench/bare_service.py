"""The reference for service start time: a bare restate-sdk app served by hypercorn, with
nothing of the harness imported. `python bench/bare_service.py PORT`"""

import asyncio
import sys

import restate
from hypercorn.asyncio import serve
from hypercorn.config import Config

counter = restate.VirtualObject("Counter")


@counter.handler()
async def add(ctx: restate.ObjectContext, n: int) -> int:
    value = (await ctx.get("value") or 0) + n
    ctx.set("value", value)
    return value


if __name__ == "__main__":
    config = Config()
    config.bind = [f"127.0.0.1:{sys.argv[1]}"]
    asyncio.run(serve(restate.app(services=[counter]), config))
