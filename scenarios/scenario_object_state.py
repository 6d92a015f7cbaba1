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
    check_idempotent_response,
    check_set_members,
    check_shared_reads,
    check_vacuity,
    scaled,
    seeded_plan,
)


@dataclass(frozen=True)
class Params(harness.Params):
    ADDS: int = scaled(300)
    READS: int = scaled(300)
    USERS: int = scaled(20)
    DUPLICATE: float = 0.15


class SubscriptionListContract(Contract):
    """What the scenario asks of the per-user subscription list, in the bundled
    Subscriptions object's API: add({"subscription"}) is exclusive (it writes), list() is a
    shared handler (it reads) and answers the list; the scenario calls them add and list.
    For another API, subclass and override (`--adapter subscriptions=mypkg.chaos:MyList`)."""

    ASSUMPTIONS = {
        "reads_are_shared": "the read handler is shared, so a read must not wait for a "
        "running write (false: only that reads see acknowledged and final state)",
    }
    reads_are_shared = True

    def add(self, user: str, subscription: str, idem: str) -> Request:
        """Add `subscription` to `user`'s list (an exclusive, state-writing handler)."""
        body = {"subscription": subscription}
        return Request("Subscriptions", "add", key=user, body=body, idem=idem)

    def read(self, user: str) -> Request:
        """Read `user`'s list (a shared handler: it must not wait for a running add)."""
        return Request("Subscriptions", "list", key=user)

    def members(self, answer: Any) -> list[str]:
        """The subscriptions a `list` answer holds."""
        return list(answer or [])

    def check_answer(self, action: str, answer: Any) -> None:
        if action == "list":
            self.members(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "subscriptions": "harness.bundled.services.subscriptions:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"subscriptions": SubscriptionListContract}

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


def workload(rng: random.Random, api: SubscriptionListContract, p: Params) -> list[Request]:
    requests = []
    for i in range(p.ADDS):
        user, sub = f"u{rng.randrange(p.USERS)}", f"s{i}"
        add = api.add(user, sub, idem=f"add-{sub}").as_action("add", user, subscription=sub)
        requests.append(add)
        if rng.random() < p.DUPLICATE:
            requests.insert(rng.randrange(len(requests) - 1, len(requests) + 20), add)
    for _ in range(p.READS):
        user = f"u{rng.randrange(p.USERS)}"
        requests.insert(rng.randrange(len(requests) + 1), api.read(user).as_action("list", user))
    return requests


async def test_no_lost_update(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("subscriptions")
    await chaos.start(world=False)  # the server, SERVICES

    requests = workload(chaos.rng, api, p)
    plan = seeded_plan(
        chaos.fault_rng,
        len(requests),
        [("kill", "subscriptions"), ("pause", "subscriptions"), ("kill", "server")],
        window=(0.1, 0.8),
    )
    await chaos.drive(requests, plan, retry_for=20)

    finals = [api.read(f"u{u}").as_action("list", f"u{u}") for u in range(p.USERS)]
    await chaos.verify(checks, reads=finals, timeout=20)


def checks(run: RunData) -> list[Verdict | Check]:
    p = Params.of(run)
    api = run.contract("subscriptions", SubscriptionListContract)
    records = [r for r in run.actions() if not r.get("check_read")]  # the workload alone

    def member(req: dict[str, Any]) -> str:
        return req["subscription"]

    def finals() -> dict[str, list[Any]]:  # the final lists, read through the adapter
        return {user: api.members(a) for user, a in run.answers("list", final=True).items()}

    def shared_reads() -> Verdict:
        return check_shared_reads(
            records,
            finals(),
            "add",
            "list",
            member,
            api.members,
            run.manifest,
            must_overtake=api.reads_are_shared,
        ).resting_on(run.assumed("subscriptions", "reads_are_shared"))

    return [
        Check("set_members", lambda: check_set_members(records, finals(), "add", member=member)),
        Check("shared_reads", shared_reads),
        check_idempotent_response(records, "add"),
        check_vacuity(records, min_ok=p.ADDS, min_faults=2),
    ]
