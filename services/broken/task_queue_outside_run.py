"""BROKEN task worker: does the task's work outside ctx.run, with a fresh key, then more
durable steps. Same API as services/task_queue.py: a task interrupted by a kill after its
work is replayed from the journal, and the work is done again.
"""

import uuid
from datetime import timedelta

import restate

from harness.world.client import world

worker = restate.Service("AsyncTaskWorker")


@worker.handler()
async def run(ctx: restate.Context, task: dict) -> str:
    await world().call("event", key=f"{task['id']}:done", idem=str(uuid.uuid4()))  # the bug
    await ctx.sleep(timedelta(milliseconds=300))  # more steps follow the work
    return f"Finished work on task: {task['id']}"


app = restate.app(services=[worker])
