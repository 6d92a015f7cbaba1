"""BROKEN machine operator: the transitions are shared handlers and the state lives in a
module-level dict. Same API as services/machines.py; transitions of one machine run at the
same time (overlap), and a kill of the service forgets the states.
"""

import random
from datetime import timedelta

import restate

from ..machines import FAILURE_RATE, world_call

machine = restate.VirtualObject("MachineOperator")
STATES: dict[str, str] = {}


async def transition(ctx: restate.ObjectSharedContext, to: str) -> str:
    m = ctx.key()
    if STATES.get(m, "DOWN") == to:
        return f"{m} is already {to.lower()}"
    invocation = ctx.request().id
    await ctx.run_typed("begin", world_call("begin", m, invocation, to))
    if random.random() < FAILURE_RATE:
        raise RuntimeError("a failure happened!")
    await ctx.sleep(timedelta(seconds=0.5 if m.startswith("slow") else 0.05))
    await ctx.run_typed("end", world_call("end", m, invocation, to))
    STATES[m] = to
    return f"{m} is now {to.lower()}"


@machine.handler(name="setUp", kind="shared")  # the bug: not exclusive
async def set_up(ctx: restate.ObjectSharedContext) -> str:
    return await transition(ctx, "UP")


@machine.handler(name="tearDown", kind="shared")
async def tear_down(ctx: restate.ObjectSharedContext) -> str:
    return await transition(ctx, "DOWN")


@machine.handler(kind="shared")
async def status(ctx: restate.ObjectSharedContext) -> str:
    return STATES.get(ctx.key(), "DOWN")


app = restate.app(services=[machine])
