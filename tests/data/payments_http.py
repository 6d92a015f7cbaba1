"""A team's payment service as it is written: the Payments API of the bundled scenario, its
charges and refunds sent to a Stripe-like provider with httpx, the provider's base URL from
its own configuration ($STRIPE_API_BASE) and an Idempotency-Key header. No harness import:
under test the base URL points at the world, which routes the provider's API
(tests/data/payments_http_adapter.py). `app_without_key` sends no key, `app_random_key` a
new one per attempt: the broken variants the payments scenario must flag."""

import os
import uuid

import httpx
import restate

BASE = os.environ.get("STRIPE_API_BASE", "https://api.stripe.com")


async def stripe(path: str, body: dict, key: str | None) -> dict:
    headers = {"Idempotency-Key": key} if key else {}
    async with httpx.AsyncClient(base_url=BASE, timeout=30) as client:
        r = await client.post(path, json=body, headers=headers)
    if r.status_code == 402:
        return {"declined": True}
    r.raise_for_status()  # 5xx: retried by Restate
    return r.json()


def make_app(idempotency: str):  # -> the ASGI app restate.app builds
    payments = restate.VirtualObject("Payments")

    def key(kind: str, payment: str) -> str | None:
        return {"stable": f"{kind}-{payment}", "random": str(uuid.uuid4()), "none": None}[
            idempotency
        ]

    @payments.handler()
    async def create(ctx: restate.ObjectContext, req: dict) -> dict:
        existing = await ctx.get("payment", type_hint=dict)
        if existing is not None:
            return existing
        pid = ctx.key()

        async def charge() -> dict:
            body = {
                "amount": req["amount"],
                "customer": req["account"],
                "metadata": {"payment": pid},
            }
            return await stripe("/v1/charges", body, key("charge", pid))

        charged = await ctx.run_typed("charge", charge)
        payment = {
            "id": pid,
            "amount": req["amount"],
            "account": req["account"],
            "status": "declined" if charged.get("declined") else "completed",
            "charge_id": charged.get("id"),
        }
        ctx.set("payment", payment)
        return payment

    @payments.handler(kind="shared")
    async def get(ctx: restate.ObjectSharedContext) -> dict | None:
        return await ctx.get("payment", type_hint=dict)

    @payments.handler()
    async def refund(ctx: restate.ObjectContext) -> dict:
        payment = await ctx.get("payment", type_hint=dict)
        if payment is None:
            raise restate.TerminalError("no such payment", 404)
        if payment["status"] != "completed":
            return payment
        pid = ctx.key()

        async def refund_charge() -> dict:
            body = {"charge": payment["charge_id"], "amount": payment["amount"],
                    "customer": payment["account"], "metadata": {"payment": pid}}  # fmt: skip
            return await stripe("/v1/refunds", body, key("refund", pid))

        await ctx.run_typed("refund", refund_charge)
        payment = {**payment, "status": "refunded"}
        ctx.set("payment", payment)
        return payment

    return restate.app(services=[payments])


app = make_app("stable")
app_without_key = make_app("none")
app_random_key = make_app("random")
