"""Virtual-object state: concurrent adds per user lose no update, and shared reads neither
wait for the running add nor see anything but acknowledged state, across kills.

Services: the Subscriptions virtual object (services/subscriptions.py).
Workload: 300 adds over 20 users (each with its idempotency key, some sent twice) mixed
          with 300 shared reads, 32 at a time; each add pauses durably between read and write.
Faults:   kill -9 of the service, SIGSTOP of the service (resumed after 0.3 s) and kill -9 of
          the server, at seeded points.
Checks:   every user's final list holds each acknowledged subscription exactly once; reads
          sent during an add finish before it and see every update acknowledged before
          them; one answer per idempotency key; every invocation completed; the faults
          landed while requests were in flight.
"""

import random

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_set_members,
    check_shared_reads,
    check_vacuity,
    seeded_plan,
)

ADDS, READS, USERS, DUPLICATE = 300, 300, 20, 0.15
SCALED = ("ADDS", "READS", "USERS")  # the workload sizes --scale N multiplies


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "subscriptions": "harness.bundled.services.subscriptions:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "subscriptions",
        "harness.bundled.services.broken.subscriptions_in_memory:app",
        ("set_members",),
        "list in a module global",
    ),
    Control(
        "subscriptions",
        "harness.bundled.services.broken.subscriptions_exclusive_reads:app",
        ("shared_reads",),
        "list is an exclusive handler",
    ),
]


def workload(rng: random.Random) -> list[Request]:
    requests = []
    for i in range(ADDS):
        user = f"u{rng.randrange(USERS)}"
        add = Request(
            "Subscriptions", "add", key=user, body={"subscription": f"s{i}"}, idem=f"add-s{i}"
        )
        requests.append(add)
        if rng.random() < DUPLICATE:
            requests.insert(rng.randrange(len(requests) - 1, len(requests) + 20), add)
    for _ in range(READS):
        read = Request("Subscriptions", "list", key=f"u{rng.randrange(USERS)}")
        requests.insert(rng.randrange(len(requests) + 1), read)
    return requests


async def test_no_lost_update(chaos: Run) -> None:
    await chaos.start_server()
    await chaos.start_service("subscriptions")

    requests = workload(chaos.rng)
    plan = seeded_plan(
        chaos.fault_rng,
        len(requests),
        [("kill", "subscriptions"), ("pause", "subscriptions"), ("kill", "server")],
        window=(0.1, 0.8),
    )
    await chaos.drive(requests, plan, retry_for=20)

    finals = [Request("Subscriptions", "list", key=f"u{u}") for u in range(USERS)]
    await chaos.verify(checks, reads=finals, timeout=20)


def checks(run: RunData) -> list[Verdict]:
    finals = run.final_reads("Subscriptions", "list")
    records = [r for r in run.records if not r.get("check_read")]  # the workload alone
    return [
        check_set_members(records, finals, "add", member=lambda req: req["subscription"]),
        check_shared_reads(records, finals, "add", "list", member=lambda req: req["subscription"]),
        check_idempotent_response(records, "add"),
        check_vacuity(records, min_ok=ADDS, min_faults=2),
    ]
