"""Checkout: a plain Restate service, `placeOrder`, that charges the customer once per order.

placeOrder({"orderId": str, "customer": str, "totalCents": int})
    -> {"order": str, "result": "ACCEPTED" | "DECLINED", "paymentRef": str | None}

The charge runs in `ctx.run` with the order id as the provider's idempotency key: the same
key on every retry, so a crash between the charge and its journal entry cannot charge twice.
"""

import restate

from orders.payments import ProviderDeclined, charge

checkout = restate.Service("Checkout")


@checkout.handler("placeOrder")
async def place_order(ctx: restate.Context, order: dict) -> dict:
    async def pay() -> str | None:
        try:
            return await charge(
                order["orderId"], order["customer"], order["totalCents"], order["orderId"]
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
