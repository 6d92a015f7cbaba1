"""Event processing: a user feed and a package tracker fed by keyed one-way sends (the HTTP
path of Kafka-style events), while both services and the server are killed.

Services: UserFeed (services/user_feed.py), PackageTracker (services/package_tracker.py),
          each in its own process; the world records each post's processing.
Workload: 30 users post 6 times each, in sequence per user (the next post is sent once the
          previous send is accepted), 3 of them slow (moderation needs 3-5 polls 0.2 s
          apart, the others 0-1); 30 packages are registered by RPC, then get 6 location
          updates each, in sequence. Event ids as idempotency keys; 64 clients, 20 keys/s.
Faults:   kill -9 of the server twice, of the feed and of the tracker once, and a reset of
          the tracker's 3rd invocation attempt from then, at seeded points; a reset of the
          streams to the feed, and a slow close of its connections, right after the world
          records the start of a post (of u10, of u20); while events queue behind slow ones.
Checks:   per user, posts processed in the order sent, one at a time, once each; other
          users' posts run beside slow ones that wait; each package holds its registration
          and every accepted update once, in order; every invocation completed; faults in
          flight.
"""

import asyncio
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
    check_enriched,
    check_key_order,
    check_not_held_up,
    check_vacuity,
    scaled,
    seeded_kills,
    seeded_plan,
)


@dataclass(frozen=True)
class Params(harness.Params):
    USERS: int = scaled(30)
    PACKAGES: int = scaled(30)
    EVENTS: int = 6
    SLOW: frozenset[str] = frozenset(f"u{i}" for i in range(3))  # users with slow posts


class FeedContract(Contract):
    """What the scenario asks of the feed service, in the bundled UserFeed object's API
    (keyed by user): processPost({"id", "seq", "checks"}), sent one-way; moderation takes
    `checks` polls. For another API, subclass and override (`--adapter
    feed=mypkg.chaos:MyFeed`). The service must report each post's processing to the
    world: a begin and an end call with the user as `key` and "<begin|end>-<post id>" as
    the idempotency key."""

    def post(self, user: str, post: str, seq: int, checks: int, idem: str) -> Request:
        """Send `user`'s post number `seq` (`checks` moderation polls) for processing."""
        body = {"id": post, "seq": seq, "checks": checks}
        return Request("UserFeed", "processPost", key=user, body=body, idem=idem, send=True)


class PackagesContract(Contract):
    """What the scenario asks of the package tracker, in the bundled PackageTracker
    object's API (keyed by package): registerPackage({"recipient"}), updateLocation({"n",
    "location"}) sent one-way, shared getPackageInfo() -> {"recipient", "locations": [{"n",
    "location"}, ...]}. For another API, subclass and override (`--adapter
    tracker=mypkg.chaos:MyPackages`)."""

    def register(self, package: str, recipient: str, idem: str) -> Request:
        """Register `package` for `recipient`."""
        body = {"recipient": recipient}
        return Request("PackageTracker", "registerPackage", key=package, body=body, idem=idem)

    def update(self, package: str, n: int, location: str, idem: str) -> Request:
        """Send the package's `n`th location update."""
        body = {"n": n, "location": location}
        return Request(
            "PackageTracker", "updateLocation", key=package, body=body, idem=idem, send=True
        )

    def info(self, package: str) -> Request:
        """Read the package's state after the chaos."""
        return Request("PackageTracker", "getPackageInfo", key=package)

    def locations(self, answer: Any) -> list[dict[str, Any]] | None:
        """The updates an info answer holds, in the order applied, each as {"n",
        "location"}; None if the package is not registered."""
        return None if answer is None else list(answer.get("locations", []))

    def check_answer(self, action: str, answer: Any) -> None:
        if action == "getPackageInfo":
            self.locations(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "feed": "harness.bundled.services.user_feed:app",
    "tracker": "harness.bundled.services.package_tracker:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"feed": FeedContract, "tracker": PackagesContract}

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


def in_sequence(rng: random.Random, key: str, first: list[Request], events: list, send=None):
    """One key's client: after the `first` requests, events sent one after another, each
    once the previous one was accepted (or given up on), a little apart. `send(call,
    event)` sends one (default: the event is a Request, sent through the ingress). The
    flow's `subject` is its key: a workload subset (a shrink) keeps or drops it whole."""
    gaps = [rng.uniform(0, 0.4) for _ in events]

    async def flow(call):
        for req in first:
            await call(req)
        out = None
        for event, gap in zip(events, gaps, strict=True):
            out = await (send(call, event) if send else call(event))
            await asyncio.sleep(gap)
        return out

    flow.subject = key
    return flow


def workload(rng: random.Random, feed: FeedContract, packages: PackagesContract, p: Params) -> list:
    flows = []
    for i in range(p.USERS):
        user = f"u{i}"
        posts = []
        for n in range(p.EVENTS):
            slow = user in p.SLOW
            post, checks = f"{user}.{n}", rng.randint(3, 5) if slow else rng.randint(0, 1)
            req = feed.post(user, post, n, checks, idem=post)
            posts.append(req.as_action("processPost", user, id=post))
        flows.append(in_sequence(rng, user, [], posts))
    for i in range(p.PACKAGES):
        pkg = f"pkg{i}"
        register = packages.register(pkg, f"r{i}", idem=pkg).as_action("registerPackage", pkg)
        updates = []
        for n in range(p.EVENTS):
            location = f"hub{rng.randint(0, 99)}"
            req = packages.update(pkg, n, location, idem=f"{pkg}.{n}")
            updates.append(req.as_action("updateLocation", pkg, n=n, location=location))
        flows.append(in_sequence(rng, pkg, [register], updates))
    rng.shuffle(flows)
    return flows


async def start(chaos: Run) -> None:
    """The world, the server, and the feed and the tracker, each in its own process."""
    await chaos.start()  # the world, the server, SERVICES


async def settle_and_check(chaos: Run) -> None:
    """Heal, quiesce, read every package's state, check."""
    packages = chaos.contract("tracker")
    finals = [
        packages.info(f"pkg{i}").as_action("getPackageInfo", f"pkg{i}")
        for i in range(chaos.params.PACKAGES)
    ]
    await chaos.verify(checks, reads=finals, timeout=30)


async def test_events_in_order_once_state_complete(chaos: Run) -> None:
    await start(chaos)

    flows = workload(chaos.rng, chaos.contract("feed"), chaos.contract("tracker"), chaos.params)
    plan = seeded_kills(
        chaos.fault_rng, len(flows), ["server", "feed", "tracker", "server"], window=(0.2, 0.9)
    )
    path = [("fail-nth", "tracker", {"nth": 3})]
    plan += seeded_plan(chaos.fault_rng, len(flows), path, downtime=1.0, window=(0.2, 0.9))
    # a feed invocation is in flight only for moments (it suspends between its polls): cut
    # its stream, or its connection slowly, right after the world records a post's start
    plan += await chaos.effect_window("feed", "begin", ["u10"], kind="reset")
    plan += await chaos.effect_window("feed", "begin", ["u20"], kind="slow-close")
    await chaos.drive(flows, plan, concurrency=64, retry_for=20, rate=20)

    await settle_and_check(chaos)


def checks(run: RunData) -> list[Verdict | Check]:
    """Read in the scenario's words (processPost of a user, updateLocation of a package);
    the Kafka path's events carry the same names and fields untagged."""
    packages, p = run.contract("tracker", PackagesContract), Params.of(run)
    records = run.actions()

    def enriched() -> Verdict:  # the final packages, read through the adapter
        finals = {p: packages.locations(a) for p, a in run.answers("getPackageInfo").items()}
        return check_enriched(
            records,
            finals,
            "registerPackage",
            "updateLocation",
            update_of=lambda o: o.invoke["req"],
        )

    return [
        check_key_order(records, run.ledger, "processPost", lambda o: o.invoke["req"]["id"]),
        # a post's work is its moderation polls (0-5): durations do not compare across posts
        check_not_held_up(run.ledger, slow=set(p.SLOW), records=run.records, equal_work=False),
        Check("enriched", enriched),
        check_vacuity(
            records,
            min_ok=p.USERS * p.EVENTS,
            min_faults=2,
            pending_until=run.last_effect_at,
        ),
    ]
