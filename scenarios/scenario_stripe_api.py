"""Stripe-style payment API: the same guarantees as the payment state machine when the
idempotency token travels in the request body to a plain service, which forwards to the
object keyed by it with durable RPC.

Services: StripePayments + PaymentProcessor (services/stripe_api.py); the world's accounts.
Workload: as in payment_tokens, sent as {"key": token, "request": {...}} to StripePayments.
Faults:   as in payment_tokens.
Checks:   as in payment_tokens.
"""

from harness.bundled.scenarios.scenario_payment_tokens import (
    requests_for,
    run_scenario,
    token_checks,
)

from harness import Control, Request, Run, RunData, Verdict

FRONT = "StripePayments"


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "stripe": "harness.bundled.services.stripe_api:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "stripe",
        "harness.bundled.services.broken.stripe_api_unkeyed:app",
        ("tokens",),
        "forwards to an object keyed by the request, not the token",
    ),
]


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
        chaos,
        "stripe",
        requests,
        checks,
    )


def checks(run: RunData) -> list[Verdict]:
    return token_checks(run, token_of=token_of)
