"""Event processing: a user feed and a package tracker fed by keyed one-way sends (the HTTP
path of Kafka-style events), while both services and the server are killed.

Services: UserFeed (services/user_feed.py), PackageTracker (services/package_tracker.py),
          each in its own process; the world records each post's processing.
Workload: 30 users post 6 times each, in sequence per user (the next post is sent once the
          previous send is accepted), 3 of them slow (moderation needs 3-5 polls 0.2 s
          apart, the others 0-1); 30 packages are registered by RPC, then get 6 location
          updates each, in sequence. Event ids as idempotency keys; 64 clients, 20 keys/s.
Faults:   kill -9 of the server twice, of the feed and of the tracker once, at seeded
          points, while events queue behind slow ones.
Checks:   per user, posts processed in the order sent, one at a time, once each; other
          users' posts complete while slow ones wait; each package holds its registration
          and every accepted update once, in order; every invocation completed; faults in
          flight.
"""

import asyncio
import random

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_enriched,
    check_key_order,
    check_not_held_up,
    check_vacuity,
    seeded_kills,
)

USERS, PACKAGES, EVENTS = 30, 30, 6
SCALED = ("USERS", "PACKAGES")  # the workload sizes --scale N multiplies
SLOW = {f"u{i}" for i in range(3)}


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "feed": "harness.bundled.services.user_feed:app",
    "tracker": "harness.bundled.services.package_tracker:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "feed",
        "harness.bundled.services.broken.user_feed_shared:app",
        ("key_order",),
        "processPost is a shared handler",
    ),
    Control(
        "feed",
        "harness.bundled.services.broken.user_feed_global_lock:app",
        ("not_held_up",),
        "one process-wide lock around processing",
    ),
    Control(
        "tracker",
        "harness.bundled.services.broken.package_tracker_in_memory:app",
        ("enriched",),
        "package state in a module global",
    ),
]


def in_sequence(rng: random.Random, first: list[Request], events: list, send=None):
    """One key's client: after the `first` requests, events sent one after another, each
    once the previous one was accepted (or given up on), a little apart. `send(call,
    event)` sends one (default: the event is a Request, sent through the ingress)."""
    gaps = [rng.uniform(0, 0.4) for _ in events]

    async def flow(call):
        for req in first:
            await call(req)
        out = None
        for event, gap in zip(events, gaps, strict=True):
            out = await (send(call, event) if send else call(event))
            await asyncio.sleep(gap)
        return out

    return flow


def workload(rng: random.Random) -> list:
    flows = []
    for i in range(USERS):
        user = f"u{i}"
        posts = [
            Request(
                "UserFeed",
                "processPost",
                key=user,
                body={
                    "id": f"{user}.{n}",
                    "seq": n,
                    "checks": rng.randint(3, 5) if user in SLOW else rng.randint(0, 1),
                },
                idem=f"{user}.{n}",
                send=True,
            )
            for n in range(EVENTS)
        ]
        flows.append(in_sequence(rng, [], posts))
    for i in range(PACKAGES):
        pkg = f"pkg{i}"
        register = Request(
            "PackageTracker", "registerPackage", key=pkg, body={"recipient": f"r{i}"}, idem=pkg
        )
        updates = [
            Request(
                "PackageTracker",
                "updateLocation",
                key=pkg,
                body={"n": n, "location": f"hub{rng.randint(0, 99)}"},
                idem=f"{pkg}.{n}",
                send=True,
            )
            for n in range(EVENTS)
        ]
        flows.append(in_sequence(rng, [register], updates))
    rng.shuffle(flows)
    return flows


async def start(chaos: Run) -> None:
    """The world, the server, and the feed and the tracker, each in its own process."""
    await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("feed")
    await chaos.start_service("tracker")


async def settle_and_check(chaos: Run) -> None:
    """Heal, quiesce, read every package's state, check."""
    finals = [Request("PackageTracker", "getPackageInfo", key=f"pkg{i}") for i in range(PACKAGES)]
    await chaos.verify(checks, reads=finals, timeout=30)


async def test_events_in_order_once_state_complete(chaos: Run) -> None:
    await start(chaos)

    flows = workload(chaos.rng)
    plan = seeded_kills(
        chaos.fault_rng, len(flows), ["server", "feed", "tracker", "server"], window=(0.2, 0.9)
    )
    await chaos.drive(flows, plan, concurrency=64, retry_for=20, rate=20)

    await settle_and_check(chaos)


def checks(run: RunData) -> list[Verdict]:
    return [
        check_key_order(run.records, run.ledger, "processPost", lambda o: o.invoke["req"]["id"]),
        check_not_held_up(run.ledger, slow=SLOW),
        check_enriched(
            run.records,
            run.final_reads("PackageTracker", "getPackageInfo"),
            "registerPackage",
            "updateLocation",
            update_of=lambda o: o.invoke["req"],
        ),
        check_vacuity(
            run.records,
            min_ok=USERS * EVENTS,
            min_faults=2,
            pending_until=run.last_effect_at,
        ),
    ]
