"""Saga: a trip booking (flight, car, hotel) compensates in reverse, once each, when a step
fails, while the booking service and the server are killed, also mid-compensation.

Services: the Trips service (services/trips.py); the world's reservations.
Workload: 120 bookings, 32 at a time, each with its booking id as idempotency key, a fifth
          sent twice. Planned failures: a quarter are declined at a seeded step (nothing
          reserved), a fifth have a seeded step take effect whose answer is lost (the step
          fails after bounded retries although the reservation exists).
Faults:   kill -9 of the service right after the world records the first compensations
          (x2) and a reservation, and a reset of the streams to it right after another
          reservation (the network twin); kill -9 of the service and of the server at
          seeded points; on the path to the service, a 1 s blackhole and a reset of its
          connections at seeded points; an operator cancels 3 bookings under way (Admin API).
Checks:   successful bookings hold all three reservations and ran no compensation; failed
          ones ran no later step, compensated every step that took effect, in reverse order,
          each once, and nothing is left reserved; one answer per booking id; every
          invocation completed; the faults landed while requests were in flight.
"""

import random
from dataclasses import dataclass
from typing import Any

from harness.bundled.services.trips import STEPS

import harness
from harness import (
    Contract,
    Control,
    Fault,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_saga,
    check_vacuity,
    scaled,
    seeded_kills,
    seeded_plan,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):
    BOOKINGS: int = scaled(120)
    DUPLICATE: float = 0.2
    DECLINE: float = 0.25
    LOST_ANSWER: float = 0.2
    CANCELLED: int = 3  # bookings an operator cancels while they run


class TripsContract(Contract):
    """What the scenario asks of the trip service, in the bundled Trips service's API:
    book({"booking"}) answers the booking, a failed booking is a terminal error. For another
    API, subclass and override (`--adapter trips=mypkg.chaos:MyTrips`). The service must
    call the world per step: `reserve` then, to compensate, `cancel`, with the business key
    "<booking>:<step>" for the steps flight, car, hotel (in that order)."""

    ASSUMPTIONS = {
        "step_timeout_ms": "how long the service waits for a reservation's answer, all "
        "attempts together, before it fails the step: a planned lost answer is held "
        "500 ms longer than this (LOST_ANSWER=0 plans none)",
    }
    step_timeout_ms = 1500  # the bundled Trips: 0.5 s per attempt, 3 attempts

    def book(self, booking: str, idem: str) -> Request:
        """Book the trip `booking` (all three steps, or none)."""
        return Request("Trips", "book", body={"booking": booking}, idem=idem)

    def failed(self, answer: Any) -> bool:
        """Modelling choice: does an acknowledged answer say the booking failed? The
        bundled API answers a failure with a terminal error, never with an answer."""
        return False

    def check_answer(self, action: str, answer: Any) -> None:
        self.failed(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "trips": "harness.bundled.services.trips:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"trips": TripsContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "trips",
        "harness.bundled.services.broken.trips_forward_compensation:app",
        ("saga",),
        "compensations run in registration order",
    ),
    Control(
        "trips",
        "harness.bundled.services.broken.trips_register_after:app",
        ("saga",),
        "compensation registered after its step",
    ),
    Control(
        "trips",
        "harness.bundled.services.broken.trips_no_compensation_on_cancel:app",
        ("saga",),
        "no compensation when an operator cancels the booking",
    ),
]


def failure_plan(rng: random.Random, p: Params) -> dict[str, tuple[str, int] | None]:
    """booking -> (how, step index) of its planned failure, or None."""
    plan: dict[str, tuple[str, int] | None] = {}
    for i in range(p.BOOKINGS):
        roll = rng.random()
        lost = roll < p.DECLINE + p.LOST_ANSWER
        how = "decline" if roll < p.DECLINE else "lost" if lost else None
        plan[f"b{i}"] = (how, rng.randrange(len(STEPS))) if how else None
    return plan


def workload(rng: random.Random, api: TripsContract, p: Params) -> list[Request]:
    requests = []
    for i in range(p.BOOKINGS):
        req = api.book(f"b{i}", idem=f"b{i}").as_action("book", f"b{i}")
        requests.append(req)
        if rng.random() < p.DUPLICATE:
            requests.append(req)
    return requests


async def test_saga_compensates_in_reverse(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("trips")
    world = await chaos.start()  # the world, the server, SERVICES

    rng = chaos.rng
    plan = failure_plan(rng, p)
    chaos.manifest["saga_plan"] = plan  # what checks() compares the ledger against
    for booking, failure in plan.items():
        if failure:
            how, step = failure
            key = f"{booking}:{STEPS[step]}"
            await world.set_knob(
                "reserve",
                key,
                decline=how == "decline",
                latency_ms=api.step_timeout_ms + 500 if how == "lost" else 0,
            )
    requests = workload(rng, api, p)
    ok_bookings = {b for b, f in plan.items() if f is None}
    victim, twin = spread_keys([r for r in requests if r.meta["subject"] in ok_bookings], 2)
    faults = await chaos.effect_window("trips", "reserve", [f"{victim}:car"])
    # the network twin: the streams to the service reset right after a reservation
    faults += await chaos.effect_window("trips", "reserve", [f"{twin}:hotel"], kind="reset")
    faults += seeded_kills(chaos.fault_rng, len(requests), ("trips", "server"))
    path = [("blackhole", "trips"), ("reset-connections", "trips")]
    faults += seeded_plan(chaos.fault_rng, len(requests), path, downtime=1.0)
    faults += [
        Fault("kill", "trips", on_event={"op": "cancel", "outcome": "applied"}, downtime=0.3)
        for _ in range(2)
    ]
    # an operator cancels bookings under way (drawn last: the faults above keep their
    # places); each must still end with nothing reserved
    cancels = [("cancel-invocation", "trips", {})] * p.CANCELLED
    faults += seeded_plan(chaos.fault_rng, len(requests), cancels, window=(0.2, 0.8))
    await chaos.drive(requests, faults, retry_for=30)

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("trips", TripsContract)
    records = run.actions(failed={"book": api.failed})  # in the scenario's words
    plan = {b: (list(STEPS), f[1] if f else None) for b, f in run.manifest["saga_plan"].items()}
    return [
        check_saga(records, run.ledger, plan, handler="book").resting_on(
            run.assumed("trips", "step_timeout_ms")
        ),
        check_idempotent_response(records, "book"),
        check_vacuity(records, min_ok=p.BOOKINGS // 3, min_faults=4),
    ]
