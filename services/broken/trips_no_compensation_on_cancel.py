"""Broken on purpose (negative control for the sagas scenario's operator cancel): the trip
booking compensates when a step fails, but not when an operator cancels it. Restate
delivers a cancellation as a TerminalError with status 409 at the handler's next await;
this handler re-raises it as it is, so the reservations taken before the cancel stay
taken. Caught by `saga` (a cancelled booking has steps left applied)."""

import restate
from harness.bundled.services.trips import STEP_RETRIES, STEPS, cancel, reserve
from restate.exceptions import TerminalError

trips = restate.Service("Trips")


@trips.handler()
async def book(ctx: restate.Context, req: dict) -> dict:
    booking = req["booking"]
    compensations = []
    try:
        for resource in STEPS:
            compensations.append((f"cancel {resource}", cancel(booking, resource)))
            await ctx.run_typed(f"reserve {resource}", reserve(booking, resource), STEP_RETRIES)
    except TerminalError as e:
        if e.status_code == 409:  # the bug: "cancelled is not a failure of ours"
            raise
        for name, undo in reversed(compensations):
            await ctx.run_typed(name, undo)
        raise
    return {"booking": booking, "status": "booked"}


app = restate.app(services=[trips])
