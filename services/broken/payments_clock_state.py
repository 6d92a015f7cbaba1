"""BROKEN payments: state set from the wall clock outside `ctx.run` (non-deterministic).

Same API as services/payments.py. `create` records `datetime.now()` in state before the
charge. When the service dies inside the charge, the retry replays the journal, sets a
different time, and the SDK reports a journal mismatch: the invocation retries for ever and
its payment key is wedged. Flagged by the generic findings (determinism, no wedged key),
which know nothing of the payments API.
"""

from datetime import datetime

import restate

from .. import payments as good
from ..payments import charge_at_gateway

payments = restate.VirtualObject("Payments")


@payments.handler()
async def create(ctx: restate.ObjectContext, req: dict) -> dict:
    existing = await ctx.get("payment", type_hint=dict)
    if existing is not None:
        return existing
    payment_id = ctx.key()
    ctx.set("started_at", datetime.now().isoformat())  # the bug: not journaled by ctx.run

    async def charge() -> dict:
        return await charge_at_gateway(payment_id, req, idem=f"charge-{payment_id}")

    payment = good.payment_record(payment_id, req, await ctx.run_typed("charge", charge))
    ctx.set("payment", payment)
    return payment


payments.handler(kind="shared")(good.get)
payments.handler()(good.refund)
app = restate.app(services=[payments])
