"""(Delayed) message queue (seed 000): Restate as a task queue.

A submitter sends tasks as one-way messages (`/AsyncTaskWorker/run/send`, optionally with
`?delay=`), each with the task id as `idempotency-key`: Restate answers 202 with the
invocation id ("Accepted"; a repeat gets "PreviouslyAccepted" and the same id) and runs the
task later, tracking the timer durably.

Guarantee: each accepted task runs effectively once, not before its delay, also when the
server is killed while its timer is pending.

API: Service `AsyncTaskWorker`, run({"id": str}) -> "Finished work on task: <id>".
World: an `event` with key "<id>:done" when the task's work is done.
"""

import restate

from harness.world.client import world_action

worker = restate.Service("AsyncTaskWorker")


@worker.handler()
async def run(ctx: restate.Context, task: dict) -> str:
    done = world_action("event", key=f"{task['id']}:done", idem=f"task-{task['id']}")
    await ctx.run_typed("work", done)
    return f"Finished work on task: {task['id']}"


app = restate.app(services=[worker])
