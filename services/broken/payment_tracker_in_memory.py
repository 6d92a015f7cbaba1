"""BROKEN payment tracker: the invoice's paid flag and reminder count live in a module
dict, not in Restate's state. A kill of the service forgets which invoices were paid, so
the schedule keeps reminding (and escalates) after the success.

Same API as services/payment_tracker.py.
"""

import restate

from harness.world.client import world_action

from ..payment_tracker import INTERVAL, REMINDERS

tracker = restate.VirtualObject("PaymentTracker")
invoices: dict[str, dict] = {}  # the bug: lost with the process


@tracker.handler("onPaymentSuccess")
async def on_payment_success(ctx: restate.ObjectContext, event: dict) -> None:
    inv = ctx.key()
    invoices.setdefault(inv, {})["paid"] = True
    await ctx.run_typed("paid", world_action("event", key=f"{inv}:paid", idem=f"{inv}:paid"))


@tracker.handler("onPaymentFailure")
async def on_payment_failure(ctx: restate.ObjectContext, event: dict) -> None:
    inv = ctx.key()
    state = invoices.setdefault(inv, {})
    if state.get("paid"):
        return
    sent = state.get("reminders", 0)
    if sent and not event.get("scheduled"):
        return
    if sent < REMINDERS:
        n = sent + 1
        state["reminders"] = n
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
