"""Resilient communication (seed 004, concert ticketing).

`buy` charges the ticket with a request-response call to the payment service (it waits for
the answer), sends the ticket by a one-way message to the email service (fire and forget),
and schedules a reminder as a delayed message: a durable timer in Restate, not a sleep in
the process. All three are in Restate's log and survive kills of the service and the server.

Guarantee: per ticket, one charge, one ticket email, one reminder, the reminder not before
its due time; the same answer for the same `idempotency-key`.

API: Service `ConcertTicketing`, buy({"ticket", "amount", "remind_in_ms"}) -> str.
     Services `TicketPayments` (charge) and `TicketEmails` (email_ticket, send_reminder).
World: charge key "<ticket>:pay"; email keys "<ticket>:ticket" and "<ticket>:reminder".
"""

from datetime import timedelta

import restate

from harness.world.client import world_action

payments = restate.Service("TicketPayments")
emails = restate.Service("TicketEmails")
ticketing = restate.Service("ConcertTicketing")


@payments.handler()
async def charge(ctx: restate.Context, req: dict) -> str:
    t = req["ticket"]
    done = await ctx.run_typed(
        "charge", world_action("charge", key=f"{t}:pay", idem=f"pay-{t}", amount=req["amount"])
    )
    return done["id"]


@emails.handler()
async def email_ticket(ctx: restate.Context, req: dict) -> None:
    t = req["ticket"]
    await ctx.run_typed("email", world_action("email", key=f"{t}:ticket", idem=f"ticket-{t}"))


@emails.handler()
async def send_reminder(ctx: restate.Context, req: dict) -> None:
    t = req["ticket"]
    await ctx.run_typed("remind", world_action("email", key=f"{t}:reminder", idem=f"reminder-{t}"))


@ticketing.handler()
async def buy(ctx: restate.Context, req: dict) -> str:
    pay_ref = await ctx.service_call(charge, req)  # request-response
    ctx.service_send(email_ticket, req)  # one-way
    ctx.service_send(
        send_reminder,
        req,  # delayed: a durable timer
        send_delay=timedelta(milliseconds=req["remind_in_ms"]),
    )
    return f"ticket {req['ticket']} paid: {pay_ref}"


app = restate.app(services=[ticketing, payments, emails])
