"""Event processing, the Kafka path: the user feed and the package tracker of
scenario_event_processing fed by Restate's Kafka subscriptions instead of HTTP sends,
while the services and the server are killed.

Services: UserFeed, PackageTracker (as in scenario_event_processing); a Kafka-protocol broker
          (tansu, the `kafka` extra) with topics social-media-posts and
          package-location-updates (4 partitions each), subscribed to processPost and
          updateLocation; the record key is the object key.
Workload: as scenario_event_processing, but each post and location update is a record
          produced to its topic (acks=all), in sequence per key; registrations by RPC.
Faults:   kill -9 of the feed, the tracker and the server (whose Kafka consumers rejoin
          their group afterwards), at seeded points.
Checks:   the same as scenario_event_processing: per user in the order produced, one at a
          time, once each; slow users do not hold up the others; each package's state
          complete and in order; every invocation completed; faults in flight.
"""

import random
from dataclasses import dataclass

import pytest
from harness.bundled.scenarios import scenario_event_processing as http
from harness.bundled.scenarios.scenario_event_processing import (
    PackagesContract,
    in_sequence,
    settle_and_check,
    start,
)

from harness import Run, seeded_kills
from harness.runtime.kafka import missing

# the same services and contracts as the HTTP path
SERVICES = {
    "feed": "harness.bundled.services.user_feed:app",
    "tracker": "harness.bundled.services.package_tracker:app",
}
CONTRACTS = {"tracker": PackagesContract}


pytestmark = [pytest.mark.kafka, pytest.mark.skipif(bool(missing()), reason=missing() or "")]


@dataclass(frozen=True)
class Params(http.Params):
    """The HTTP path's parameters (its checks read them), and the topics."""

    POSTS: str = "social-media-posts"
    LOCATIONS: str = "package-location-updates"


def workload(rng: random.Random, events, packages: PackagesContract, p: Params) -> list:
    """Posts and location updates as Kafka records of the bundled shapes (the topics carry
    the bundled API's bodies); registrations through the tracker's contract."""

    def keyed(key: str, topic: str, sink: str, values: list, first=()):
        def produce(call, value):
            return events.send(topic, sink, key, value)

        return in_sequence(rng, key, list(first), values, produce)

    flows = []
    for i in range(p.USERS):
        user = f"u{i}"
        posts = [
            {
                "id": f"{user}.{n}",
                "seq": n,
                "checks": rng.randint(3, 5) if user in p.SLOW else rng.randint(0, 1),
            }
            for n in range(p.EVENTS)
        ]
        flows.append(keyed(user, p.POSTS, "UserFeed/processPost", posts))
    for i in range(p.PACKAGES):
        pkg = f"pkg{i}"
        register = packages.register(pkg, f"r{i}", idem=pkg).as_action("registerPackage", pkg)
        updates = [{"n": n, "location": f"hub{rng.randint(0, 99)}"} for n in range(p.EVENTS)]
        flows.append(keyed(pkg, p.LOCATIONS, "PackageTracker/updateLocation", updates, [register]))
    rng.shuffle(flows)
    return flows


async def test_kafka_events_in_order_once_state_complete(chaos: Run) -> None:
    await start(chaos)
    await chaos.start_kafka()
    p = chaos.params
    await chaos.subscribe(p.POSTS, "UserFeed/processPost")
    await chaos.subscribe(p.LOCATIONS, "PackageTracker/updateLocation")

    async with chaos.producer() as events:
        flows = workload(chaos.rng, events, chaos.contract("tracker"), p)
        plan = seeded_kills(
            chaos.fault_rng, len(flows), ["feed", "tracker", "server"], window=(0.2, 0.9)
        )
        await chaos.drive(flows, plan, concurrency=64, retry_for=20, rate=20)

    await chaos.heal()
    await chaos.wait_delivered(
        ["UserFeed/processPost", "PackageTracker/updateLocation"],
        at_least=(p.USERS + p.PACKAGES) * p.EVENTS,
        timeout=60,
    )
    await settle_and_check(chaos)
