"""BROKEN payment signals: the cancel after the timeout is called straight from the
handler, outside `ctx.run`, with a fresh key: a replay after a kill cancels again.

Same API as services/payment_signals.py.
"""

import uuid

import restate

from harness.world.client import world

from ..payment_signals import TIMEOUT, confirm, start_payment

payments = restate.Service("PaymentsWithTimeout")


@payments.handler()
async def process(ctx: restate.Context, req: dict) -> dict:
    pid = req["id"]
    callback_id, confirmation = ctx.awakeable(type_hint=dict)
    await ctx.run_typed("pay", start_payment(pid, req["amount"], callback_id))
    match await restate.select(confirmation=confirmation, timeout=ctx.sleep(TIMEOUT)):
        case ["confirmation", _]:
            return {"payment": pid, "status": "confirmed"}
        case _:
            await world().call("cancel", key=pid, idem=str(uuid.uuid4()))  # the bug
            return {"payment": pid, "status": "cancelled"}


payments.handler()(confirm)
app = restate.app(services=[payments])
