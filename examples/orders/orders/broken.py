"""BROKEN Checkout (a negative control): the idempotency key is a fresh uuid per attempt,
so a crash right after the provider charged makes the retry charge again."""

import uuid

import restate

from orders.payments import ProviderDeclined, charge

checkout = restate.Service("Checkout")


@checkout.handler("placeOrder")
async def place_order(ctx: restate.Context, order: dict) -> dict:
    async def pay() -> str | None:
        try:  # the bug: a new key on every attempt
            return await charge(
                order["orderId"], order["customer"], order["totalCents"], str(uuid.uuid4())
            )
        except ProviderDeclined:
            return None

    ref = await ctx.run_typed("charge", pay)
    return {
        "order": order["orderId"],
        "result": "ACCEPTED" if ref else "DECLINED",
        "paymentRef": ref,
    }


app = restate.app(services=[checkout])
