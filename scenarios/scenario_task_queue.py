"""(Delayed) message queue: tasks sent as one-way messages run once each, not before their
delay, while the worker and the server are killed with timers pending.

Services: AsyncTaskWorker (services/task_queue.py); the world records each task's work.
Workload: 200 tasks sent to /AsyncTaskWorker/run/send, 32 at a time, the task id as
          idempotency key; half delayed by 0.5-3 s; a quarter submitted again (Restate answers
          "PreviouslyAccepted" with the same invocation id).
Faults:   kill -9 of the worker right after the world records a task's work (x2, its answer
          held back); kill -9 of the server twice and of the worker once, at seeded points,
          while timers are pending.
Checks:   every accepted task did its work exactly once; none before its delay, none later
          than the run measured (harness/checkers/bounds.py); every submission of a task
          got the same invocation id; every invocation completed; the faults landed while
          requests were in flight.
"""

import random
from dataclasses import dataclass

import harness
from harness import (
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_idempotent_response,
    check_timers,
    check_vacuity,
    scaled,
    seeded_kills,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):
    TASKS: int = scaled(200)
    DELAYED: float = 0.5
    RESUBMIT: float = 0.25


class TasksContract(Contract):
    """What the scenario asks of the task worker, in the bundled AsyncTaskWorker API:
    run({"id"}), sent one-way through Restate (/send, delayed with ?delay=). For another
    API, subclass and override (`--adapter worker=mypkg.chaos:MyWorker`). The task's work
    must reach the world as an event with key "<task id>:done"."""

    def run(self, task: str, delay_ms: int | None, idem: str) -> Request:
        """Enqueue `task` as a one-way message, run after `delay_ms` if given."""
        body = {"id": task}
        return Request("AsyncTaskWorker", "run", body=body, idem=idem, send=True, delay_ms=delay_ms)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "worker": "harness.bundled.services.task_queue:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"worker": TasksContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "worker",
        "harness.bundled.services.broken.task_queue_outside_run:app",
        ("exactly_once:event",),
        "task work outside ctx.run with a fresh key",
    ),
]


def workload(rng: random.Random, api: TasksContract, p: Params) -> list[Request]:
    requests: list[Request] = []
    for i in range(p.TASKS):
        task, delay = f"task{i}", rng.randint(500, 3000) if rng.random() < p.DELAYED else None
        req = api.run(task, delay, idem=task).as_action("run", task, delay_ms=delay or 0)
        requests.append(req)
        if rng.random() < p.RESUBMIT:
            requests.insert(rng.randrange(len(requests), len(requests) + 40), req)
    return requests


async def test_tasks_run_once_on_time(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("worker")
    await chaos.start()  # the world, the server, SERVICES

    requests = workload(chaos.rng, api, p)
    # kill the worker right after the world records a task's work (its answer held back),
    # whatever the seeded kills hit: a task done outside ctx.run is then done twice
    delayed = {r.meta["subject"] for r in requests if r.meta.get("delay_ms")}
    victims = [f"{task}:done" for task in spread_keys(requests, 2, exclude=delayed)]
    plan = await chaos.effect_window("worker", "event", victims)
    plan += seeded_kills(
        chaos.fault_rng, len(requests), ["server", "worker", "server"], window=(0.3, 0.9)
    )
    # sent over about 4 s: the work of an immediate task comes while sends go on, so a
    # fault aimed at it fires before the workload ends
    await chaos.drive(requests, plan, retry_for=20, rate=60)

    await chaos.verify(checks, timeout=30)  # waits for the delayed tasks


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    records = run.actions()  # in the scenario's words: run of a task
    return [
        check_exactly_once(
            records,
            run.ledger,
            "event",
            "run",
            lambda r: True,
            name="each accepted task ran once",
            key_of=lambda o: f"{o.key}:done",
        ),
        check_timers(
            records,
            run.ledger,
            "run",
            manifest=run.manifest,
            name="no task before its delay",
            timer_of=lambda o: (f"{o.key}:done", o.invoke["req"]["delay_ms"] / 1000),
        ),
        check_idempotent_response(records, "run", project=lambda r: r["invocationId"]),
        # the sends return at once: faults count while tasks were still pending
        check_vacuity(
            records,
            min_ok=p.TASKS,
            min_faults=2,
            pending_until=run.last_effect_at,
        ),
    ]
