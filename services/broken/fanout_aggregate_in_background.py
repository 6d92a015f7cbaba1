"""BROKEN fan-out: `run` answers with the total at once and leaves recording the aggregate
to a background task of the process, outside Restate, a little later, which nothing
retries: a kill of the worker (or anything else that ends the task) loses aggregates of
acknowledged tasks. Every answer is right; only a check for what must exist (not for what
is wrong) sees it.

Same API as services/fanout.py.
"""

import asyncio

import restate

from harness.world.client import world

from ..fanout import fan_out, process_subtask

worker = restate.Service("FanOutWorker")
worker.handler()(process_subtask)
background: set[asyncio.Task] = set()


async def record_later(task_id: str, total: int) -> None:
    await asyncio.sleep(0.5)  # "the aggregate is written by a background job"
    await world().call("event", key=f"{task_id}:aggregate", idem=f"agg-{task_id}", amount=total)


@worker.handler()
async def run(ctx: restate.Context, task: dict) -> dict:
    total = await fan_out(ctx, task)
    job = asyncio.create_task(record_later(task["id"], total))  # the bug: not durable
    background.add(job)
    job.add_done_callback(background.discard)
    return {"id": task["id"], "total": total, "subtasks": task["subtasks"]}


app = restate.app(services=[worker])
