"""BROKEN machine operator: a slow machine's work is a blocking call (`time.sleep`, say a
synchronous client) instead of a durable sleep or an awaited one, so the whole process's
event loop stops while it runs and every other machine waits: the head-of-line blocking
Restate's per-key queues exist to avoid, made by the service itself.

Same API as services/machines.py.
"""

import time
from datetime import timedelta

import restate

from .. import machines as good

machine = restate.VirtualObject("MachineOperator")


async def blocking_work(ctx: restate.ObjectContext, m: str) -> None:
    if m.startswith("slow"):
        time.sleep(0.5)  # the bug: blocks the event loop, every other machine waits
    else:
        await ctx.sleep(timedelta(seconds=0.05))


@machine.handler(name="setUp")
async def set_up(ctx: restate.ObjectContext) -> str:
    return await good.transition(ctx, "UP", blocking_work)


@machine.handler(name="tearDown")
async def tear_down(ctx: restate.ObjectContext) -> str:
    return await good.transition(ctx, "DOWN", blocking_work)


machine.handler(kind="shared")(good.status)
app = restate.app(services=[machine])
