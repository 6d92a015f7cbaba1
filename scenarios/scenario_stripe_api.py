"""Stripe-style payment API: the same guarantees as the payment state machine when the
idempotency token travels in the request body to a plain service, which forwards to the
object keyed by it with durable RPC.

Services: StripePayments + PaymentProcessor (services/stripe_api.py); the world's accounts.
Workload: as in payment_tokens, sent as {"key": token, "request": {...}} to StripePayments.
Faults:   as in payment_tokens.
Checks:   as in payment_tokens.
"""

from harness import Request, Run, RunData, Verdict
from scenarios.scenario_payment_tokens import requests_for, run_scenario, token_checks

FRONT = "StripePayments"


def token_of(o) -> str | None:
    req = o.invoke.get("req") or {}
    return req.get("key") if o.invoke.get("service") == FRONT else None


async def test_stripe_style_api(chaos: Run) -> None:
    requests = requests_for(
        chaos.rng,
        lambda t, body, idem: Request(
            FRONT, "makePayment", body={"key": t, "request": body}, idem=idem
        ),
        lambda t, idem: Request(FRONT, "cancelPayment", body={"key": t}, idem=idem),
    )
    await run_scenario(
        chaos, "services.stripe_api:app", "stripe", requests, [FRONT, "PaymentProcessor"]
    )
    await chaos.check(checks)
    chaos.assert_held()


def checks(run: RunData) -> list[Verdict]:
    return token_checks(run, token_of=token_of)
