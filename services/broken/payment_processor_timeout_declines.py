"""BROKEN payment processor: a slow bank is taken for a declined payment.

Same API as services/payment_processor.py. The withdraw is given 1 s per attempt and two
attempts; when both time out, `makePayment` answers the payment as failed (a terminal
error) and leaves the token untouched. But a slow bank is not a refusing one: the withdraw
went through, the client was told the payment failed, and nothing refunds it. The
idempotency key is right (no double charge) and nothing crashes: only the answer set
against the provider's ledger tells.
"""

from datetime import timedelta

import restate
from restate.exceptions import TerminalError

from harness.world.client import world

from .. import payment_processor as good

ATTEMPT_S = 1.0
ATTEMPTS = restate.RunOptions(max_attempts=2, initial_retry_interval=timedelta(milliseconds=50))
processor = restate.VirtualObject("PaymentProcessor")


@processor.handler(name="makePayment")
async def make_payment(ctx: restate.ObjectContext, req: dict) -> dict:
    token = ctx.key()
    status = await ctx.get("status", type_hint=str)
    if status == "CANCELLED":
        return {"status": "CANCELLED"}
    if status == "COMPLETED":
        return await ctx.get("payment", type_hint=dict)

    async def withdraw() -> dict:
        return await world().call(
            "withdraw",
            timeout=ATTEMPT_S,
            key=token,
            account=req["account"],
            amount=req["amount"],
            idem=f"pay-{token}",
        )

    try:
        await ctx.run_typed("withdraw", withdraw, ATTEMPTS)
    except TerminalError as e:  # the bug: out of attempts is not "declined"
        raise TerminalError("payment failed: the bank did not answer") from e
    payment = {"status": "COMPLETED", "account": req["account"], "amount": req["amount"]}
    ctx.set("status", "COMPLETED")
    ctx.set("payment", payment)
    good.schedule_expiry(ctx)
    return payment


processor.handler(name="cancelPayment")(good.cancel_payment)
processor.handler()(good.expire)
processor.handler(kind="shared")(good.status)
app = restate.app(services=[processor])
