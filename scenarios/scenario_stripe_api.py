"""Stripe-style payment API: the same guarantees as the payment state machine when the
idempotency token travels in the request body to a plain service, which forwards to the
object keyed by it with durable RPC.

Services: StripePayments + PaymentProcessor (services/stripe_api.py); the world's accounts.
Workload: as in payment_tokens, sent as {"key": token, "request": {...}} to StripePayments.
Faults:   as in payment_tokens.
Checks:   as in payment_tokens.
"""

from harness.bundled.scenarios import scenario_payment_tokens as tokens
from harness.bundled.scenarios.scenario_payment_tokens import (
    TokensContract,
    run_scenario,
    token_checks,
)

from harness import Check, Control, Request, Run, RunData, Verdict

Params = tokens.Params  # the same workload and faults as payment_tokens


class StripeContract(TokensContract):
    """The payment-token contract through a Stripe-style front: the bundled StripePayments
    service takes the token in the body, makePayment({"key", "request": {"account",
    "amount"}}) and cancelPayment({"key"}); status is read from the PaymentProcessor object.
    For another API, subclass and override (`--adapter stripe=mypkg.chaos:MyStripe`)."""

    def make(self, token: str, account: str, amount: int, idem: str) -> Request:
        body = {"key": token, "request": {"account": account, "amount": amount}}
        return Request("StripePayments", "makePayment", body=body, idem=idem)

    def cancel(self, token: str, idem: str) -> Request:
        return Request("StripePayments", "cancelPayment", body={"key": token}, idem=idem)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "stripe": "harness.bundled.services.stripe_api:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"stripe": StripeContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "stripe",
        "harness.bundled.services.broken.stripe_api_unkeyed:app",
        ("tokens",),
        "forwards to an object keyed by the request, not the token",
    ),
]


async def test_stripe_style_api(chaos: Run) -> None:
    await run_scenario(chaos, "stripe", checks)


def checks(run: RunData) -> list[Verdict | Check]:
    return token_checks(run, run.contract("stripe", StripeContract), "stripe")
