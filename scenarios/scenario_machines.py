"""Stateful actors: machines go up and down one transition at a time, along valid paths,
with none lost, while transitions fail transiently and the service and server are killed;
a slow machine does not hold up the others.

Services: the MachineOperator virtual object (services/machines.py), whose transitions
          fail 30% of the time mid-way and are retried; the world records each transition's
          begin and end.
Workload: 250 setUp / tearDown requests over 12 machines (2 of them slow: 0.5 s per
          transition), 32 at a time, each with an idempotency key, some sent twice.
Faults:   kill -9 of the service, SIGSTOP of the service (resumed after 0.3 s) and kill -9 of
          the server, at seeded points.
Checks:   per machine, transitions never overlap, alternate DOWN -> UP -> DOWN ..., every
          acknowledged transition happened once and the final state is the last one's;
          other machines' transitions complete while a slow one runs; one answer per
          idempotency key; every invocation completed; faults landed in flight.
"""

import random

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_not_held_up,
    check_transitions,
    check_vacuity,
    seeded_plan,
)

REQUESTS, DUPLICATE = 250, 0.15
SCALED = ("REQUESTS",)  # the workload sizes --scale N multiplies
MACHINES = [f"m{i}" for i in range(10)] + ["slow0", "slow1"]
STATES = {"setUp": "UP", "tearDown": "DOWN"}


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "machines": "harness.bundled.services.machines:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "machines",
        "harness.bundled.services.broken.machines_shared_state:app",
        ("transitions",),
        "shared transitions, state in a module global",
    ),
]


def workload(rng: random.Random) -> list[Request]:
    requests: list[Request] = []
    for i in range(REQUESTS):
        req = Request(
            "MachineOperator", rng.choice(list(STATES)), key=rng.choice(MACHINES), idem=f"op{i}"
        )
        requests.append(req)
        if rng.random() < DUPLICATE:
            requests.insert(rng.randrange(len(requests) - 1, len(requests) + 20), req)
    return requests


async def test_one_transition_at_a_time(chaos: Run) -> None:
    await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("machines")

    requests = workload(chaos.rng)
    plan = seeded_plan(
        chaos.fault_rng,
        len(requests),
        [("kill", "machines"), ("pause", "machines"), ("kill", "server")],
        window=(0.1, 0.8),
    )
    await chaos.drive(requests, plan, retry_for=20, timeout=15)

    finals = [Request("MachineOperator", "status", key=m) for m in MACHINES]
    await chaos.verify(checks, reads=finals, timeout=20)


def checks(run: RunData) -> list[Verdict]:
    finals = run.final_reads("MachineOperator", "status")
    return [
        check_transitions(run.records, run.ledger, finals, STATES, initial="DOWN"),
        check_not_held_up(run.ledger, slow={"slow0", "slow1"}),
        check_idempotent_response(run.records, "setUp", id="idempotent_response:setUp"),
        check_idempotent_response(run.records, "tearDown", id="idempotent_response:tearDown"),
        check_vacuity(run.records, min_ok=REQUESTS // 2, min_faults=2),
    ]
