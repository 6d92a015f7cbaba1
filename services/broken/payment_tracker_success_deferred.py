"""BROKEN payment tracker: a success event is not acted on when it arrives; it queues a
delayed "markPaid" behind the schedule's own work, and only that records the payment. The
reminders keep going in between, and the service's own "paid" record moves with the bug,
so only a check on the client's clock (the success accepted by Restate, and due) sees it.

Same API as services/payment_tracker.py.
"""

import restate

from harness.world.client import world_action

from ..payment_tracker import INTERVAL, on_payment_failure

tracker = restate.VirtualObject("PaymentTracker")
tracker.handler("onPaymentFailure")(on_payment_failure)


@tracker.handler("onPaymentSuccess")
async def on_payment_success(ctx: restate.ObjectContext, event: dict) -> None:
    ctx.object_send(mark_paid, key=ctx.key(), arg=event, send_delay=INTERVAL * 2)  # the bug


@tracker.handler("markPaid")
async def mark_paid(ctx: restate.ObjectContext, event: dict) -> None:
    ctx.set("paid", True)
    inv = ctx.key()
    await ctx.run_typed("paid", world_action("event", key=f"{inv}:paid", idem=f"{inv}:paid"))


app = restate.app(services=[tracker])
