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

from harness import Control, Request, Run, RunData, Verdict, check_counters, check_vacuity, kill

OPS, KEYS, DUPLICATES = 500, 20, 0.15


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "counter": "harness.bundled.services.counter:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "counter",
        "harness.bundled.services.broken.counter_in_memory:app",
        ("counters",),
        "counter in a module global",
    ),
]


def increments(rng: random.Random) -> list[Request]:
    requests: list[Request] = []
    for i in range(OPS):
        req = Request("Counter", "add", key=f"c{rng.randrange(KEYS)}", body=1, idem=f"inc-{i}")
        requests.append(req)
        if rng.random() < DUPLICATES:  # the same request again: right away, or later
            requests.insert(rng.randrange(len(requests) - 1, len(requests) + 20), req)
    return requests


async def test_counter_survives_kills(chaos: Run) -> None:
    await chaos.start_server()
    await chaos.start_service("counter")

    requests = increments(chaos.rng)
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

    finals = [Request("Counter", "get", key=f"c{k}") for k in range(KEYS)]
    await chaos.verify(checks, reads=finals, timeout=10)


def checks(run: RunData) -> list[Verdict]:
    counters = run.final_reads("Counter", "get")
    return [
        check_counters(run.records, counters),
        check_vacuity(run.records, min_ok=OPS // 2, min_faults=2),
    ]
