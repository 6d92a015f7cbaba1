"""Saga (seeds 000 and 004): a trip booking that reserves a flight, a car and a hotel.

Guarantee: a booking either holds all three reservations and ran no compensation, or it
failed and every compensation ran, each effectively once, in the reverse order of
registration, leaving nothing reserved. Each compensation is registered BEFORE its step
runs: a step can take effect and still fail (its answer lost), and then only its
compensation releases it. A cancellation (an operator's) is a failure like any other, also
when it arrives while the booking is already compensating: the rollback goes on to its end.

API: a Service `Trips`, handler `book({"booking": id})` -> {"booking", "status": "booked"};
a failed booking ends in a terminal error (HTTP 4xx/5xx) after compensating.
World calls: reserve / cancel with key "<booking>:<flight|car|hotel>".
"""

from datetime import timedelta

import restate
from restate.exceptions import TerminalError

from harness.world.client import Declined, world

STEPS = ("flight", "car", "hotel")
# a step whose answer never comes is given up after a few attempts: a terminal failure
STEP_RETRIES = restate.RunOptions(max_attempts=3, initial_retry_interval=timedelta(milliseconds=50))

trips = restate.Service("Trips")


def reserve(booking: str, resource: str):
    async def call() -> dict:
        try:
            return await world().call(
                "reserve",
                timeout=0.5,
                key=f"{booking}:{resource}",
                resource=resource,
                idem=f"reserve-{booking}-{resource}",
            )

        except Declined as e:
            raise TerminalError(f"{resource} declined") from e

    return call


def cancel(booking: str, resource: str):
    async def call() -> dict:
        return await world().call(
            "cancel",
            key=f"{booking}:{resource}",
            resource=resource,
            idem=f"cancel-{booking}-{resource}",
        )

    return call


@trips.handler()
async def book(ctx: restate.Context, req: dict) -> dict:
    booking = req["booking"]
    compensations = []
    try:
        for resource in STEPS:
            # register first: the reservation may take effect even if the call fails
            compensations.append((f"cancel {resource}", cancel(booking, resource)))
            await ctx.run_typed(f"reserve {resource}", reserve(booking, resource), STEP_RETRIES)
    except TerminalError:
        for name, undo in reversed(compensations):
            await compensate(ctx, name, undo)
        raise
    return {"booking": booking, "status": "booked"}


async def compensate(ctx: restate.Context, name: str, undo) -> None:
    """Run one compensation to its end. An operator's cancel arriving while the saga
    compensates is delivered at the compensation's await, as a TerminalError (409): it
    must not stop the rollback half-way (a reservation would be left), so the step is run
    again; the booking still ends failed."""
    while True:
        try:
            await ctx.run_typed(name, undo)
            return
        except TerminalError as e:
            if e.status_code != 409:
                raise


app = restate.app(services=[trips])
