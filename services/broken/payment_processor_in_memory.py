"""BROKEN payment processor: the token's status lives in a module-level dict.

Same API as services/payment_processor.py. After a kill of the service a cancel no longer
knows the token was charged: it answers CANCELLED without refunding.
"""

import restate

from harness.world.client import world_action

from ..payment_processor import expire, processor, status

broken = restate.VirtualObject("PaymentProcessor")
STATE: dict[str, dict] = {}


@broken.handler(name="makePayment")
async def make_payment(ctx: restate.ObjectContext, req: dict) -> dict:
    token = ctx.key()
    current = STATE.get(token)
    if current is not None:
        return current
    await ctx.run_typed(
        "withdraw",
        world_action(
            "withdraw", key=token, account=req["account"], amount=req["amount"], idem=f"pay-{token}"
        ),
    )
    STATE[token] = {"status": "COMPLETED", "account": req["account"], "amount": req["amount"]}
    return STATE[token]


@broken.handler(name="cancelPayment")
async def cancel_payment(ctx: restate.ObjectContext) -> dict:
    token = ctx.key()
    current = STATE.get(token)
    if current is not None and current["status"] == "COMPLETED":
        await ctx.run_typed(
            "refund",
            world_action(
                "deposit",
                key=token,
                account=current["account"],
                amount=current["amount"],
                idem=f"refund-{token}",
            ),
        )
    STATE[token] = {"status": "CANCELLED"}
    return {"status": "CANCELLED"}


broken.handler()(expire)
broken.handler(kind="shared")(status)
del processor  # the correct object is not served
app = restate.app(services=[broken])
