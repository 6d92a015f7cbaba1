"""Parallelizing work: a task fanned out into parallel subtasks does every subtask once and
reports the sum of their results, while the worker and the server are killed mid-fan-out.

Services: FanOutWorker (services/fanout.py); the world records each subtask and aggregate.
Workload: 60 tasks of 3-8 subtasks each, 16 at a time, the task id as idempotency key, a
          fifth sent twice.
Faults:   kill -9 of the worker right after the world records two subtasks' work, and of
          the worker twice and the server once at seeded points.
Checks:   every subtask of an acknowledged task done exactly once, none twice; the aggregate
          recorded once, after its subtasks, and equal to the sum of its subtasks and to
          what the client was told (missing: a violation); one answer per task id; every
          invocation completed; faults in flight.
"""

import random
from dataclasses import dataclass
from typing import Any

import harness
from harness import (
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_fanout,
    check_idempotent_response,
    check_vacuity,
    scaled,
    seeded_kills,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):
    TASKS: int = scaled(60)
    DUPLICATE: float = 0.2


class FanOutContract(Contract):
    """What the scenario asks of the fan-out worker, in the bundled FanOutWorker API:
    run({"id", "subtasks": n}) -> {"total"}. For another API, subclass and override
    (`--adapter worker=mypkg.chaos:MyFanOut`). The worker must record each subtask in the
    world as an event with key "<job>:<index>" and its value as `amount`, and the aggregate
    as an event with key "<job>:aggregate" and the total as `amount`."""

    ASSUMPTIONS = {
        "aggregate_recorded": "the service records its aggregate in the world (false: only "
        "the total the client is told is checked against the subtasks)"
    }
    aggregate_recorded = True

    def run(self, job: str, subtasks: int, idem: str) -> Request:
        """Run `job` as `subtasks` parallel subtasks and answer their total."""
        body = {"id": job, "subtasks": subtasks}
        return Request("FanOutWorker", "run", body=body, idem=idem)

    def total(self, answer: Any) -> int:
        """The aggregate a run answer reports."""
        return int(answer["total"])

    def check_answer(self, action: str, answer: Any) -> None:
        self.total(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "worker": "harness.bundled.services.fanout:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"worker": FanOutContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "worker",
        "harness.bundled.services.broken.fanout_outside_run:app",
        ("fanout",),
        "subtask work outside ctx.run with a fresh key",
    ),
    Control(
        "worker",
        "harness.bundled.services.broken.fanout_aggregate_in_background:app",
        ("fanout",),
        "aggregate recorded by a background task of the process: a kill loses it",
    ),
]


def workload(rng: random.Random, api: FanOutContract, p: Params) -> list[Request]:
    requests = []
    for i in range(p.TASKS):
        job, subtasks = f"job{i}", rng.randint(3, 8)
        req = api.run(job, subtasks, idem=job).as_action("run", job, subtasks=subtasks)
        requests.append(req)
        if rng.random() < p.DUPLICATE:
            requests.append(req)
    return requests


async def test_fan_out_fan_in(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("worker")
    await chaos.start()  # the world, the server, SERVICES

    requests = workload(chaos.rng, api, p)
    # kill the worker right after the world records a subtask's work (its answer held back):
    # the seeded kills below land wherever the fan-out is, often while no subtask is running
    victims = [f"{job}:0" for job in spread_keys(requests, 2)]
    plan = await chaos.effect_window("worker", "event", victims)
    plan += seeded_kills(chaos.fault_rng, len(requests), ["worker", "server", "worker"])
    await chaos.drive(requests, plan, concurrency=16, retry_for=30)

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("worker", FanOutContract)
    records = run.actions()  # in the scenario's words: run of a job
    return [
        check_fanout(
            records, run.ledger, "run", api.total, aggregate_recorded=api.aggregate_recorded
        ).resting_on(run.assumed("worker", "aggregate_recorded")),
        check_idempotent_response(records, "run"),
        check_vacuity(records, min_ok=p.TASKS // 2, min_faults=2),
    ]
