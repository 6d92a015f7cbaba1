"""BROKEN fan-out: each subtask records its work outside ctx.run, with a fresh key, before
its durable wait. Same API as services/fanout.py: a subtask interrupted by a kill is replayed
and does its work again.
"""

import uuid
from datetime import timedelta

import restate

from harness.world.client import world

from ..fanout import run, subtask_value

worker = restate.Service("FanOutWorker")


@worker.handler()
async def process_subtask(ctx: restate.Context, sub: dict) -> int:
    task, index = sub["task"], sub["index"]
    value = subtask_value(task, index)
    await world().call("event", key=f"{task}:{index}", idem=str(uuid.uuid4()), amount=value)
    await ctx.sleep(timedelta(milliseconds=50))  # the bug above: not journaled
    return value


worker.handler()(run)  # the correct fan-out; it calls the broken subtasks above by name


app = restate.app(services=[worker])
