"""BROKEN subscription service: the compensation refunds less than the payment took.

Same API as services/subscription_saga.py. The payment adds a processing fee to the price
(`amount + FEE`), and the refund registered for it is built from the request's price, so a
saga that fails is undone in reverse, once each, and nothing is left subscribed, yet the
customer is short of the fee. The steps and their order are right: only the amounts tell.
"""

import restate
from restate.exceptions import TerminalError

from ..subscription_saga import RETRIES, world_call

FEE = 3  # added to the charge, never refunded
service = restate.Service("SubscriptionService")


@service.handler()
async def add(ctx: restate.Context, req: dict) -> dict:
    user, subs, price = req["user"], req["subscriptions"], req["amount"]
    payment_id = str(ctx.uuid())
    undo = []
    try:
        # the bug: the undo refunds the price, the charge took the price and the fee
        undo.append(
            ("refund", world_call("refund", user, "pay", f"refund-{payment_id}", amount=price))
        )
        await ctx.run_typed(
            "pay",
            world_call("charge", user, "pay", f"pay-{payment_id}", amount=price + FEE),
            RETRIES,
        )
        for sub in subs:
            undo.append((f"cancel {sub}", world_call("cancel", user, sub, f"cancel-{user}-{sub}")))
            await ctx.run_typed(
                f"add-{sub}", world_call("reserve", user, sub, f"sub-{user}-{sub}"), RETRIES
            )
    except TerminalError:
        for name, step in reversed(undo):
            await ctx.run_typed(name, step)
        raise
    return {"user": user, "status": "subscribed", "subscriptions": subs}


app = restate.app(services=[service])
