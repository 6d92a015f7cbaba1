"""BROKEN saga: registers each compensation only after its step succeeded.

Same API as services/trips.py. A reservation that took effect but whose answer was lost
fails the step, and its compensation was never registered: it stays reserved (dangling).
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
            await ctx.run_typed(f"reserve {resource}", reserve(booking, resource), STEP_RETRIES)
            compensations.append((f"cancel {resource}", cancel(booking, resource)))  # bug
    except TerminalError:
        for name, undo in reversed(compensations):
            await ctx.run_typed(name, undo)
        raise
    return {"booking": booking, "status": "booked"}


app = restate.app(services=[trips])
