"""Stateful actor / state machine (seed 000, machine operator): a virtual object per machine.

Guarantee: one transition per machine at a time (single writer per key), transitions only
along the machine's states (DOWN -> UP -> DOWN ...), none lost, each done once although
transitions fail transiently and are retried; a slow machine does not hold up the others.

API: virtual object `MachineOperator`: setUp() / tearDown() -> str ("<m> is now up",
     "<m> is already up", ...), shared status() -> "UP" | "DOWN".
World: each effective transition calls begin, then end, with key = machine id and idem
       "<begin|end>-<invocation id>"; machines whose id starts with "slow" take 0.5 s.
"""

import random
from collections.abc import Awaitable, Callable
from datetime import timedelta

import restate

from harness.world.client import world_action

machine = restate.VirtualObject("MachineOperator")
FAILURE_RATE = 0.3  # "a failure happened!": transient, the transition is retried


def world_call(op: str, m: str, invocation: str, to: str):
    return world_action(op, key=m, idem=f"{op}-{invocation}", to=to)


async def work(ctx: restate.ObjectContext, m: str) -> None:
    """The transition's work: a durable sleep, longer for a slow machine."""
    await ctx.sleep(timedelta(seconds=0.5 if m.startswith("slow") else 0.05))


async def transition(
    ctx: restate.ObjectContext,
    to: str,
    do: Callable[[restate.ObjectContext, str], Awaitable[None]] = work,
) -> str:
    m = ctx.key()
    if (await ctx.get("state", type_hint=str) or "DOWN") == to:
        return f"{m} is already {to.lower()}"
    invocation = ctx.request().id
    await ctx.run_typed("begin", world_call("begin", m, invocation, to))
    if random.random() < FAILURE_RATE:  # a simulated crash
        raise RuntimeError("a failure happened!")
    await do(ctx, m)
    await ctx.run_typed("end", world_call("end", m, invocation, to))
    ctx.set("state", to)
    return f"{m} is now {to.lower()}"


@machine.handler(name="setUp")
async def set_up(ctx: restate.ObjectContext) -> str:
    return await transition(ctx, "UP")


@machine.handler(name="tearDown")
async def tear_down(ctx: restate.ObjectContext) -> str:
    return await transition(ctx, "DOWN")


@machine.handler(kind="shared")
async def status(ctx: restate.ObjectSharedContext) -> str:
    return await ctx.get("state", type_hint=str) or "DOWN"


app = restate.app(services=[machine])
