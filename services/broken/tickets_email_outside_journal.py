"""BROKEN ticketing: the ticket email is sent straight from `buy`, outside Restate (not a
message, not in ctx.run) with a fresh key; every replay of `buy` emails again.

Same API as services/tickets.py.
"""

import uuid
from datetime import timedelta

import restate

from harness.world.client import world

from ..tickets import charge, emails, payments, send_reminder

ticketing = restate.Service("ConcertTicketing")


@ticketing.handler()
async def buy(ctx: restate.Context, req: dict) -> str:
    t = req["ticket"]
    await world().call("email", key=f"{t}:ticket", idem=str(uuid.uuid4()))  # the bug
    pay_ref = await ctx.service_call(charge, req)
    ctx.service_send(send_reminder, req, send_delay=timedelta(milliseconds=req["remind_in_ms"]))
    return f"ticket {t} paid: {pay_ref}"


app = restate.app(services=[ticketing, payments, emails])
