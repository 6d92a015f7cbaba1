"""BROKEN subscription service: when a provider fails for good, the terminal error just
propagates: nothing is undone. Same API as services/subscription_saga.py; the payment and
the subscriptions made before the failure stay in place (half-done)."""

import restate

from ..subscription_saga import RETRIES, world_call

service = restate.Service("SubscriptionService")


@service.handler()
async def add(ctx: restate.Context, req: dict) -> dict:
    user, subs = req["user"], req["subscriptions"]
    payment_id = str(ctx.uuid())
    await ctx.run_typed(
        "pay", world_call("charge", user, "pay", f"pay-{payment_id}", amount=req["amount"]), RETRIES
    )
    for sub in subs:  # the bug: no compensation when a step fails for good
        await ctx.run_typed(
            f"add-{sub}", world_call("reserve", user, sub, f"sub-{user}-{sub}"), RETRIES
        )
    return {"user": user, "status": "subscribed", "subscriptions": subs}


app = restate.app(services=[service])
