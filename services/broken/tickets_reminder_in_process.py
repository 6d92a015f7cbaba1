"""BROKEN ticketing: the reminder waits in the process (asyncio.sleep), not in Restate.

Same API as services/tickets.py. The reminder is sent at once and its handler sleeps
`remind_in_ms` before emailing: a wait Restate knows nothing of. A kill of the service or
the server during the wait restarts it from the beginning on the retry, so the reminder
fires late by as long as it had already waited, more than the outage explains.
"""

import asyncio

import restate

from harness.world.client import world_action

from ..tickets import charge, payments

emails = restate.Service("TicketEmails")
ticketing = restate.Service("ConcertTicketing")


@emails.handler()
async def send_reminder(ctx: restate.Context, req: dict) -> None:
    await asyncio.sleep(req["remind_in_ms"] / 1000)  # the bug: the timer lives in the process
    t = req["ticket"]
    await ctx.run_typed("remind", world_action("email", key=f"{t}:reminder", idem=f"reminder-{t}"))


@emails.handler()
async def email_ticket(ctx: restate.Context, req: dict) -> None:
    t = req["ticket"]
    await ctx.run_typed("email", world_action("email", key=f"{t}:ticket", idem=f"ticket-{t}"))


@ticketing.handler()
async def buy(ctx: restate.Context, req: dict) -> str:
    pay_ref = await ctx.service_call(charge, req)
    ctx.service_send(email_ticket, req)
    ctx.service_send(send_reminder, req)
    return f"ticket {req['ticket']} paid: {pay_ref}"


app = restate.app(services=[ticketing, payments, emails])
