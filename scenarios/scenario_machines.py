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
          other machines' transitions run beside a slow one and take no longer for it
          (docs/explanation/verdicts.md: isolation); one answer per idempotency key;
          every invocation completed; faults landed in flight.
"""

import random
from dataclasses import dataclass, field
from typing import Any

import harness
from harness import (
    Check,
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_not_held_up,
    check_transitions,
    check_vacuity,
    scaled,
    seeded_plan,
)


@dataclass(frozen=True)
class Params(harness.Params):
    REQUESTS: int = scaled(250)
    DUPLICATE: float = 0.15
    MACHINES: tuple[str, ...] = (*(f"m{i}" for i in range(10)), "slow0", "slow1")
    # action -> the state it moves to
    STATES: dict[str, str] = field(default_factory=lambda: {"setUp": "UP", "tearDown": "DOWN"})


class MachinesContract(Contract):
    """What the scenario asks of the machine service, in the bundled MachineOperator
    object's API (keyed by machine): setUp() / tearDown() -> "m1 is now up" or "m1 is
    already up", status() -> "UP" | "DOWN". For another API, subclass and override
    (`--adapter machines=mypkg.chaos:MyMachines`). The service must report each transition
    to the world: a begin and an end call with the machine as `key`, {"to": state} as the
    request and "<begin|end>-<invocation id>" as the idempotency key."""

    def set_up(self, machine: str, idem: str) -> Request:
        """Move `machine` to UP (a no-op if it is UP)."""
        return Request("MachineOperator", "setUp", key=machine, idem=idem)

    def tear_down(self, machine: str, idem: str) -> Request:
        """Move `machine` to DOWN (a no-op if it is DOWN)."""
        return Request("MachineOperator", "tearDown", key=machine, idem=idem)

    def status(self, machine: str) -> Request:
        """Read `machine`'s state."""
        return Request("MachineOperator", "status", key=machine)

    def moved(self, answer: Any) -> bool:
        """Modelling choice, what counts as applied: did a setUp / tearDown answer say the
        machine moved now (not that it already was in that state)?"""
        return "now" in str(answer)

    def state(self, answer: Any) -> str:
        """The state ("UP" or "DOWN") a status answer reports."""
        return str(answer)

    def check_answer(self, action: str, answer: Any) -> None:
        (self.state if action == "status" else self.moved)(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "machines": "harness.bundled.services.machines:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"machines": MachinesContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "machines",
        "harness.bundled.services.broken.machines_shared_state:app",
        ("transitions",),
        "shared transitions, state in a module global",
    ),
    Control(
        "machines",
        "harness.bundled.services.broken.machines_blocking_sleep:app",
        ("not_held_up",),
        "a slow machine's work blocks the event loop (time.sleep)",
    ),
]


def workload(rng: random.Random, api: MachinesContract, p: Params) -> list[Request]:
    requests: list[Request] = []
    for i in range(p.REQUESTS):
        action, machine = rng.choice(list(p.STATES)), rng.choice(p.MACHINES)
        build = api.set_up if action == "setUp" else api.tear_down
        req = build(machine, idem=f"op{i}").as_action(action, machine)
        requests.append(req)
        if rng.random() < p.DUPLICATE:
            requests.insert(rng.randrange(len(requests) - 1, len(requests) + 20), req)
    return requests


async def test_one_transition_at_a_time(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("machines")
    await chaos.start()  # the world, the server, SERVICES

    requests = workload(chaos.rng, api, p)
    plan = seeded_plan(
        chaos.fault_rng,
        len(requests),
        [("kill", "machines"), ("pause", "machines"), ("kill", "server")],
        window=(0.1, 0.8),
    )
    await chaos.drive(requests, plan, retry_for=20, timeout=15)

    # an API without a status read (the contract's status() gives None): no final reads
    reads = {m: api.status(m) for m in p.MACHINES}
    finals = [r.as_action("status", m) for m, r in reads.items() if r is not None]
    await chaos.verify(checks, reads=finals, timeout=20)


def checks(run: RunData) -> list[Verdict | Check]:
    p = Params.of(run)
    api = run.contract("machines", MachinesContract)
    records = run.actions()  # in the scenario's words: setUp / tearDown of a machine

    def transitions() -> Verdict:  # the final states, read through the adapter
        finals = {m: api.state(a) for m, a in run.answers("status").items()}
        return check_transitions(records, run.ledger, finals, p.STATES, "DOWN", moved=api.moved)

    return [
        Check("transitions", transitions),
        check_not_held_up(run.ledger, slow={"slow0", "slow1"}, records=run.records),
        check_idempotent_response(records, "setUp", id="idempotent_response:setUp"),
        check_idempotent_response(records, "tearDown", id="idempotent_response:tearDown"),
        check_vacuity(records, min_ok=p.REQUESTS // 2, min_faults=2),
    ]
