"""Smoke: keyed, idempotent increments survive kill -9 of the service and of the server.

Services: the Counter virtual object (services/counter.py).
Workload: 500 increments over 20 keys, 32 at a time, each with its own idempotency key;
          some requests are sent twice (at once, or later).
Faults:   kill -9 the service and restart it, then kill -9 the server and restart it,
          at seeded points of the workload.
Checks:   every counter equals its distinct acknowledged increments; every invocation
          completed; the faults landed while requests were in flight.
"""

import random
from dataclasses import dataclass
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
    check_counters,
    check_vacuity,
    kill,
    scaled,
)


@dataclass(frozen=True)
class Params(harness.Params):
    OPS: int = scaled(500)
    KEYS: int = scaled(20)
    DUPLICATES: float = 0.15


class CounterContract(Contract):
    """What the scenario asks of the counter, in the bundled Counter object's API: exclusive
    add(int) -> int and shared get() -> int, keyed by counter name. For another API,
    subclass and override (`--adapter counter=mypkg.chaos:MyCounter`)."""

    def add(self, counter: str, delta: int, idem: str) -> Request:
        """Add `delta` to `counter` once per idempotency key."""
        return Request("Counter", "add", key=counter, body=delta, idem=idem)

    def read(self, counter: str) -> Request:
        """Read the counter after the chaos."""
        return Request("Counter", "get", key=counter)

    def value(self, answer: Any) -> int:
        """The counter's value in a read's answer."""
        return int(answer)

    def check_answer(self, action: str, answer: Any) -> None:
        if action == "read":
            self.value(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "counter": "harness.bundled.services.counter:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"counter": CounterContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "counter",
        "harness.bundled.services.broken.counter_in_memory:app",
        ("counters",),
        "counter in a module global",
    ),
    Control(
        "counter",
        "harness.bundled.services.broken.counter_warm_cache:app",
        ("liveness",),
        "keys wedged after a kill: a per-process cache assumed warm",
    ),
]


def increments(rng: random.Random, api: CounterContract, p: Params) -> list[Request]:
    requests: list[Request] = []
    for i in range(p.OPS):
        counter = f"c{rng.randrange(p.KEYS)}"
        req = api.add(counter, 1, idem=f"inc-{i}").as_action("add", counter)
        requests.append(req)
        if rng.random() < p.DUPLICATES:  # the same request again: right away, or later
            requests.insert(rng.randrange(len(requests) - 1, len(requests) + 20), req)
    return requests


async def test_counter_survives_kills(chaos: Run) -> None:
    api = chaos.contract("counter")
    await chaos.start(world=False)  # the server, SERVICES

    requests = increments(chaos.rng, api, chaos.params)
    window = range(len(requests) // 5, len(requests) * 3 // 4)
    first, second = sorted(chaos.fault_rng.sample(window, 2))
    await chaos.drive(
        requests,
        [
            kill("counter", after_ops=first, downtime=0.3),
            kill("server", after_ops=second, downtime=0.3),
        ],
        retry_for=10,
    )

    finals = [api.read(f"c{k}").as_action("read", f"c{k}") for k in range(chaos.params.KEYS)]
    await chaos.verify(checks, reads=finals, timeout=10)


def checks(run: RunData) -> list[Verdict | Check]:
    api, p = run.contract("counter", CounterContract), Params.of(run)
    records = run.actions()  # in the scenario's words: add and read of a counter

    def counters() -> Verdict:  # the final values, read through the adapter
        finals = {key: api.value(answer) for key, answer in run.answers("read").items()}
        return check_counters(records, finals)

    return [
        Check("counters", counters),
        check_vacuity(records, min_ok=p.OPS // 2, min_faults=2),
    ]
