"""Parallelizing work: a task fanned out into parallel subtasks does every subtask once and
reports the sum of their results, while the worker and the server are killed mid-fan-out.

Services: FanOutWorker (services/fanout.py); the world records each subtask and aggregate.
Workload: 60 tasks of 3-8 subtasks each, 16 at a time, the task id as idempotency key, a
          fifth sent twice.
Faults:   kill -9 of the worker twice and of the server once, at seeded points.
Checks:   every subtask of an acknowledged task done exactly once, none twice; the aggregate
          recorded once and equal to the sum of its subtasks and to what the client was
          told; one answer per task id; every invocation completed; faults in flight.
"""

import random

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_fanout,
    check_idempotent_response,
    check_vacuity,
    seeded_kills,
)

TASKS, DUPLICATE = 60, 0.2
SCALED = ("TASKS",)  # the workload sizes --scale N multiplies


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "worker": "harness.bundled.services.fanout:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "worker",
        "harness.bundled.services.broken.fanout_outside_run:app",
        ("fanout",),
        "subtask work outside ctx.run with a fresh key",
    ),
]


def workload(rng: random.Random) -> list[Request]:
    requests = []
    for i in range(TASKS):
        req = Request(
            "FanOutWorker",
            "run",
            body={"id": f"job{i}", "subtasks": rng.randint(3, 8)},
            idem=f"job{i}",
        )
        requests.append(req)
        if rng.random() < DUPLICATE:
            requests.append(req)
    return requests


async def test_fan_out_fan_in(chaos: Run) -> None:
    await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("worker")

    requests = workload(chaos.rng)
    plan = seeded_kills(chaos.fault_rng, len(requests), ["worker", "server", "worker"])
    await chaos.drive(requests, plan, concurrency=16, retry_for=30)

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    return [
        check_fanout(run.records, run.ledger, "run"),
        check_idempotent_response(run.records, "run"),
        check_vacuity(run.records, min_ok=TASKS // 2, min_faults=2),
    ]
