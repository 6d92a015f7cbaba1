"""A service whose handlers fail with a retryable error forever: they never complete.
`slow_run` takes 1.5 s before each failure."""

import asyncio

import restate

stuck = restate.Service("Stuck")


@stuck.handler()
async def run(ctx: restate.Context) -> str:
    raise RuntimeError("transient failure that never heals")


@stuck.handler()
async def slow_run(ctx: restate.Context) -> str:
    await asyncio.sleep(1.5)  # not durable: every attempt takes this long
    raise RuntimeError("slow failure that never heals")


app = restate.app(services=[stuck])
