"""Payment state machine (seeds 000 and 001): a virtual object keyed by payment token.

Guarantee: per token, either one effective payment and no cancel, or cancelled with net
zero (never charged, or charged and refunded once), whatever the order and number of
concurrent, duplicated makes and cancels; the token expires once (a delayed message to
itself, a durable timer) and its state is cleared; money moves only between the account
and the processor.

API: virtual object `PaymentProcessor`: makePayment({"account", "amount"}) ->
     {"status": "COMPLETED" | "CANCELLED", ...}; cancelPayment() -> {"status": "CANCELLED"};
     shared status() -> {"status": ...} | None (None once expired).
World: withdraw (pay) / deposit (refund) with key = token and the account; an `event`
       with key "<token>:expired" when the token expires. EXPIRY_MS after the first transition.
"""

from datetime import timedelta

import restate

from harness.world.client import world_action

EXPIRY_MS = 12_000  # longer than a client keeps retrying one request (see the scenario)
processor = restate.VirtualObject("PaymentProcessor")


def schedule_expiry(ctx: restate.ObjectContext) -> None:
    ctx.object_send(expire, key=ctx.key(), arg=None, send_delay=timedelta(milliseconds=EXPIRY_MS))


@processor.handler(name="makePayment")
async def make_payment(ctx: restate.ObjectContext, req: dict) -> dict:
    token = ctx.key()
    status = await ctx.get("status", type_hint=str)
    if status == "CANCELLED":
        return {"status": "CANCELLED"}  # cancelled first: never charged
    if status == "COMPLETED":
        return await ctx.get("payment", type_hint=dict)  # a duplicate: the first answer
    await ctx.run_typed(
        "withdraw",
        world_action(
            "withdraw", key=token, account=req["account"], amount=req["amount"], idem=f"pay-{token}"
        ),
    )
    payment = {"status": "COMPLETED", "account": req["account"], "amount": req["amount"]}
    ctx.set("status", "COMPLETED")
    ctx.set("payment", payment)
    schedule_expiry(ctx)
    return payment


@processor.handler(name="cancelPayment")
async def cancel_payment(ctx: restate.ObjectContext) -> dict:
    token = ctx.key()
    status = await ctx.get("status", type_hint=str)
    if status == "COMPLETED":  # processed already: roll it back
        payment = await ctx.get("payment", type_hint=dict)
        await ctx.run_typed(
            "refund",
            world_action(
                "deposit",
                key=token,
                account=payment["account"],
                amount=payment["amount"],
                idem=f"refund-{token}",
            ),
        )
    elif status is None:
        schedule_expiry(ctx)  # the first transition of this token
    ctx.set("status", "CANCELLED")
    return {"status": "CANCELLED"}


@processor.handler()
async def expire(ctx: restate.ObjectContext) -> None:
    ctx.clear_all()
    await ctx.run_typed(
        "expired",
        world_action("event", key=f"{ctx.key()}:expired", idem=f"expire-{ctx.request().id}"),
    )


@processor.handler(kind="shared")
async def status(ctx: restate.ObjectSharedContext) -> dict | None:
    s = await ctx.get("status", type_hint=str)
    return None if s is None else {"status": s}


app = restate.app(services=[processor])
