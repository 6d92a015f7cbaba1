"""Scheduling tasks (seed 000, payment tracker).

A payment provider reports failed payments as events. The first failure of an invoice sends
a reminder and schedules the next check as a delayed message to the same invoice (a durable
timer in Restate, not a sleep in the process); after REMINDERS reminders the invoice is
escalated to the support team. Further failure events join the running schedule (webhooks
arrive late, twice, out of order). A success event marks the invoice paid, which stops the
schedule and makes any later failure event a no-op. The invoice's state (paid, reminders
sent) is the Virtual Object's durable state; its exclusive handlers serialise the events of
one invoice.

Guarantee: reminders fire on schedule (INTERVAL apart) and once each, none after the
success, and the escalation happens exactly once when due; across kills of the server and
the service.

API: Virtual Object `PaymentTracker` keyed by invoice: onPaymentFailure(event),
     onPaymentSuccess(event).
World: email key "<invoice>:reminder" (resource = the reminder's number), event keys
       "<invoice>:escalation" and "<invoice>:paid".
"""

from datetime import timedelta

import restate

from harness.world.client import world_action

REMINDERS = 3
INTERVAL = timedelta(seconds=1)

tracker = restate.VirtualObject("PaymentTracker")


@tracker.handler("onPaymentSuccess")
async def on_payment_success(ctx: restate.ObjectContext, event: dict) -> None:
    ctx.set("paid", True)
    inv = ctx.key()
    await ctx.run_typed("paid", world_action("event", key=f"{inv}:paid", idem=f"{inv}:paid"))


@tracker.handler("onPaymentFailure")
async def on_payment_failure(ctx: restate.ObjectContext, event: dict) -> None:
    if await ctx.get("paid"):
        return
    inv = ctx.key()
    sent = await ctx.get("reminders") or 0
    if sent and not event.get("scheduled"):
        return  # a further failure event: the schedule for this invoice already runs
    if sent < REMINDERS:
        n = sent + 1
        ctx.set("reminders", n)
        await ctx.run_typed(
            "remind",
            world_action(
                "email", key=f"{inv}:reminder", idem=f"{inv}:reminder:{n}", resource=str(n)
            ),
        )
        ctx.object_send(
            on_payment_failure, key=inv, arg={**event, "scheduled": True}, send_delay=INTERVAL
        )
    else:
        await ctx.run_typed(
            "escalate", world_action("event", key=f"{inv}:escalation", idem=f"{inv}:escalation")
        )


app = restate.app(services=[tracker])
