"""BROKEN ticketing: the reminder is sent at once instead of as a delayed message.

Same API as services/tickets.py: the reminder arrives before it is due.
"""

import restate

from ..tickets import charge, email_ticket, emails, payments, send_reminder

ticketing = restate.Service("ConcertTicketing")


@ticketing.handler()
async def buy(ctx: restate.Context, req: dict) -> str:
    pay_ref = await ctx.service_call(charge, req)
    ctx.service_send(email_ticket, req)
    ctx.service_send(send_reminder, req)  # the bug: no send_delay
    return f"ticket {req['ticket']} paid: {pay_ref}"


app = restate.app(services=[ticketing, payments, emails])
