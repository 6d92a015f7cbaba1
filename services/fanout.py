"""Parallelizing work (seed 000 fan-out worker, seed 004 concurrent tasks).

`run` splits a task into subtasks, calls them in parallel (durable calls), gathers their
results and records the aggregate. Restate drives every subtask to completion across
failures.

Guarantee: every subtask takes effect exactly once, none lost or repeated by kills during
the fan-out; the aggregate equals the sum of the subtask results and is recorded once.

API: Service `FanOutWorker`: run({"id", "subtasks": n}) -> {"id", "total", "subtasks"};
     process_subtask({"task", "index"}) -> int (its value).
World: an `event` per subtask with key "<id>:<index>" and amount = its value; one `event`
       with key "<id>:aggregate" and amount = the total.
"""

from datetime import timedelta

import restate

from harness.world.client import world_action

worker = restate.Service("FanOutWorker")


def subtask_value(task: str, index: int) -> int:
    return (index + 1) * 7 + len(task)  # what the subtask computes, deterministically


def record(key: str, idem: str, amount: int):
    return world_action("event", key=key, idem=idem, amount=amount)


@worker.handler()
async def process_subtask(ctx: restate.Context, sub: dict) -> int:
    task, index = sub["task"], sub["index"]
    value = subtask_value(task, index)
    await ctx.sleep(timedelta(milliseconds=50))  # the subtask's work takes a while
    await ctx.run_typed("work", record(f"{task}:{index}", f"sub-{task}-{index}", value))
    return value


async def fan_out(ctx: restate.Context, task: dict) -> int:
    """Call the task's subtasks in parallel (durable calls) and sum their results."""
    calls = [
        ctx.service_call(process_subtask, arg={"task": task["id"], "index": i})
        for i in range(task["subtasks"])
    ]
    await restate.gather(*calls)
    return sum([await c for c in calls])


@worker.handler()
async def run(ctx: restate.Context, task: dict) -> dict:
    total = await fan_out(ctx, task)
    await ctx.run_typed("aggregate", record(f"{task['id']}:aggregate", f"agg-{task['id']}", total))
    return {"id": task["id"], "total": total, "subtasks": task["subtasks"]}


app = restate.app(services=[worker])
