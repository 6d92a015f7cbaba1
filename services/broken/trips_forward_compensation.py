"""BROKEN saga: runs the compensations in the order they were registered (forward).

Same API as services/trips.py. A booking that fails at its car or hotel cancels the flight
first: the saga check flags the order.
"""

import restate
from restate.exceptions import TerminalError

from ..trips import STEP_RETRIES, STEPS, cancel, reserve

trips = restate.Service("Trips")


@trips.handler()
async def book(ctx: restate.Context, req: dict) -> dict:
    booking = req["booking"]
    compensations = []
    try:
        for resource in STEPS:
            compensations.append((f"cancel {resource}", cancel(booking, resource)))
            await ctx.run_typed(f"reserve {resource}", reserve(booking, resource), STEP_RETRIES)
    except TerminalError:
        for name, undo in compensations:  # the bug: not reversed
            await ctx.run_typed(name, undo)
        raise
    return {"booking": booking, "status": "booked"}


app = restate.app(services=[trips])
