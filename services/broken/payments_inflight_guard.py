"""BROKEN payments: a process-local guard against duplicate work, cleared only on return.

Same API as services/payments.py. `create` keeps the payments it is working on in a module
set and answers "pending" (not charged) to a create for a payment in the set; the entry is
removed when the handler returns. When the server's stream to the service is cut mid-
invocation, that attempt never returns, its entry stays, and Restate's retry of the same
invocation (in the same, still running process) is answered "pending", though the first
attempt may have charged the card. A kill wipes the set with the process, so a service
kill never shows it: faults that cut the stream while the service lives do (a network
reset, or a server kill).
"""

import restate

from .. import payments as good
from ..payments import charge_at_gateway

payments = restate.VirtualObject("Payments")
WORKING_ON: set[str] = set()  # the bug: survives an abandoned attempt


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    existing = await ctx.get("payment", type_hint=dict)
    if existing is not None:
        return existing
    payment_id = ctx.key()
    if payment_id in WORKING_ON:  # "a duplicate is already being charged"
        return {**good.payment_record(payment_id, req, {}), "status": "pending"}
    WORKING_ON.add(payment_id)

    async def charge() -> dict:
        return await charge_at_gateway(payment_id, req, idem=f"charge-{payment_id}")

    payment = good.payment_record(payment_id, req, await ctx.run_typed("charge", charge))
    ctx.set("payment", payment)
    WORKING_ON.discard(payment_id)  # not in a finally: an abandoned attempt keeps it
    return payment


payments.handler(kind="shared")(good.get)
payments.handler()(good.refund)
app = restate.app(services=[payments])
