"""The example's machine stubs wired to the harness's world: each transition reports its
begin and end (the machine as key, {"to": state}); the simulated crashes and the 5 s
sleeps are the example's own."""

import os
import random
from datetime import timedelta

import aiohttp
import restate


class Status:
    UP = "UP"
    DOWN = "DOWN"


async def _world(op: str, machine: str, to: str, idem: str) -> None:
    body = {"key": machine, "idem": idem, "to": to}
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{os.environ['CHAOS_WORLD_URL']}/call/{op}", json=body) as r:
            r.raise_for_status()


async def _transition(ctx: restate.Context, machine_id: str, to: str) -> None:
    inv = ctx.request().id
    await ctx.run_typed("begin", _world, op="begin", machine=machine_id, to=to, idem=f"begin-{inv}")
    maybe_crash(0.4)
    await ctx.sleep(timedelta(seconds=5))
    await ctx.run_typed("end", _world, op="end", machine=machine_id, to=to, idem=f"end-{inv}")


async def bring_up_machine(ctx: restate.Context, machine_id: str):
    await _transition(ctx, machine_id, Status.UP)


async def tear_down_machine(ctx: restate.Context, machine_id: str):
    await _transition(ctx, machine_id, Status.DOWN)


def maybe_crash(probability: float = 0.5) -> None:
    if random.random() < probability:
        raise Exception("[SIMULATED] A failure happened!")
