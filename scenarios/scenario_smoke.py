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

from harness import Request, Run, RunData, Verdict, kill
from harness.checkers.counter import check_counters
from harness.checkers.liveness import check_liveness
from harness.checkers.vacuity import check_vacuity

OPS, KEYS, DUPLICATES = 500, 20, 0.15


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
    await chaos.start_service("services.counter:app", name="counter")

    requests = increments(chaos.rng)
    first, second = sorted(chaos.rng.sample(range(len(requests) // 5, len(requests) * 3 // 4), 2))
    await chaos.drive(
        requests,
        [
            kill("counter", after_ops=first, downtime=0.3),
            kill("server", after_ops=second, downtime=0.3),
        ],
        retry_for=10,
    )

    await chaos.heal()
    await chaos.quiesce(["Counter"], timeout=10)
    for k in range(KEYS):  # final state, read through the ingress into the history
        await chaos.read(Request("Counter", "get", key=f"c{k}"))
    await chaos.check(checks)
    chaos.assert_held()


def checks(run: RunData) -> list[Verdict]:
    counters = run.final_reads("Counter", "get")
    return [
        check_counters(run.records, counters),
        check_liveness(run.invocations),
        check_vacuity(run.records, min_ok=OPS // 2, min_faults=2),
    ]
