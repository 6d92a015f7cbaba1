"""BROKEN payments: a process-clock deadline on the charge step that answers "declined".

Same API as services/payments.py. `create` times its charge step with the process clock and,
when the step took longer than DEADLINE_S ("the gateway answered too slowly, the customer
has given up"), records and answers the payment as declined. But the step only returns once
the server has acknowledged its journal entry, after the gateway charged the card: a slow
path between the server and the service (latency, a blackhole) makes it late, and a charged
payment is answered declined. A kill never shows it: the gateway answers within ~0.3 s, and
a step replayed after a restart comes back from the journal at once.
"""

import time

import restate

from .. import payments as good
from ..payments import charge_at_gateway

DEADLINE_S = 1.0  # the gateway's slowest answer in the scenario is 0.3 s: a wide margin

payments = restate.VirtualObject("Payments")


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    existing = await ctx.get("payment", type_hint=dict)
    if existing is not None:
        return existing
    payment_id = ctx.key()

    async def charge() -> dict:
        return await charge_at_gateway(payment_id, req, idem=f"charge-{payment_id}")

    started = time.monotonic()
    charged = await ctx.run_typed("charge", charge)
    if time.monotonic() - started > DEADLINE_S:  # the bug: the journal's ack is in the time
        charged = {"declined": True}
    payment = good.payment_record(payment_id, req, charged)
    ctx.set("payment", payment)
    return payment


payments.handler(kind="shared")(good.get)
payments.handler()(good.refund)
app = restate.app(services=[payments])
