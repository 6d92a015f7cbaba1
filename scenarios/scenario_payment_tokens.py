"""Payment state machine: per token, concurrent and duplicated makes and cancels in every
order end in one payment, or in a cancel that nets to zero; each token expires once, on
time, and is cleared; while the service and the server are killed, expiry timers pending.

Services: the PaymentProcessor virtual object keyed by token (services/payment_processor.py);
          the world's accounts.
Workload: 150 tokens over 8 accounts, 32 requests at a time: every token gets a make, half
          also a cancel (before or after it, at random), a fifth of the requests sent twice,
          each with its own idempotency key. Tokens expire 12 s after their first transition;
          a client stops retrying a request within 11 s, so none arrives after its expiry.
          The bank answers 6 tokens' withdraws 2 s late (slow, not refusing).
Faults:   kill -9 of the service right after the world records a payment (x2), kill -9 of
          the server twice and of the service once at seeded points.
Checks:   per token at most one payment and one refund, never a refund without a payment;
          acknowledged cancels net to zero, and so do tokens whose every make was answered
          as failed; acknowledged payments without a cancel were charged once; every
          processed token expired once, not before it was due, and reads empty afterwards;
          every invocation completed; faults landed in flight.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import harness
from harness import (
    Check,
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_timers,
    check_tokens,
    check_vacuity,
    scaled,
    seeded_kills,
)


@dataclass(frozen=True)
class Params(harness.Params):
    TOKENS: int = scaled(150)
    ACCOUNTS: int = scaled(8)
    CANCEL: float = 0.5
    DUPLICATE: float = 0.2
    SLOW_BANK: int = 6  # tokens (without a cancel) whose bank answers late
    SLOW_BANK_MS: int = 2000


class TokensContract(Contract):
    """What the scenario asks of the payment service, in the bundled PaymentProcessor
    object's API (keyed by token): makePayment({"account", "amount"}) -> {"status":
    "COMPLETED" | "CANCELLED"}, cancelPayment(), status() -> {"status"} or None once the
    token expired. For another API, subclass and override (`--adapter
    payments=mypkg.chaos:MyTokens`). The service must pay and refund through the world
    (withdraw, deposit) with the token as `key`, and record the expiry as an event with key
    "<token>:expired"."""

    ASSUMPTIONS = {"expiry_ms": "a token expires this long after its first transition"}
    expiry_ms = 12_000

    def make(self, token: str, account: str, amount: int, idem: str) -> Request:
        """Pay `amount` from `account` under `token` (unless the token was cancelled)."""
        body = {"account": account, "amount": amount}
        return Request("PaymentProcessor", "makePayment", key=token, body=body, idem=idem)

    def cancel(self, token: str, idem: str) -> Request:
        """Cancel `token`: refund it if paid, refuse a later payment."""
        return Request("PaymentProcessor", "cancelPayment", key=token, idem=idem)

    def status(self, token: str) -> Request | None:
        """Read the token's state after the chaos (it must be gone after expiry); None if
        the API has no read (then "cleared" is reported as not exercised)."""
        return Request("PaymentProcessor", "status", key=token)

    def paid_status(self, answer: Any) -> str | None:
        """What a make answer says: "COMPLETED" (paid), "CANCELLED" or None (neither)."""
        return (answer or {}).get("status")

    def cleared(self, answer: Any) -> bool:
        """Does a status answer say the token holds no state?"""
        return answer is None

    def check_answer(self, action: str, answer: Any) -> None:
        if action == "make":
            self.paid_status(answer)
        elif action == "status":
            self.cleared(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "payments": "harness.bundled.services.payment_processor:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"payments": TokensContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "payments",
        "harness.bundled.services.broken.payment_processor_in_memory:app",
        ("tokens",),
        "token status in a module global",
    ),
    Control(
        "payments",
        "harness.bundled.services.broken.payment_processor_timeout_declines:app",
        ("tokens",),
        "a slow bank answered as a failed payment, the withdraw kept",
    ),
]


def workload(rng: random.Random, api: TokensContract, p: Params) -> list[Request]:
    """Per token a make, maybe a cancel (either order); some requests twice."""
    requests: list[Request] = []
    for i in range(p.TOKENS):
        token = f"tok{i}"
        account, amount = f"acct{rng.randrange(p.ACCOUNTS)}", rng.randint(1, 50)
        make = api.make(token, account, amount, f"make-{token}").as_action("make", token)
        pair = [make]
        if rng.random() < p.CANCEL:
            cancel = api.cancel(token, f"cancel-{token}").as_action("cancel", token)
            pair.insert(rng.randrange(2), cancel)
        for req in pair:
            requests.append(req)
            if rng.random() < p.DUPLICATE:
                requests.append(req)
    return requests


async def run_scenario(chaos: Run, name: str, checks: Callable) -> None:
    """The scenario against service `name` (its contract: chaos.contract(name))."""
    api, p = chaos.contract(name), chaos.params
    world = await chaos.start()  # the world, the server, SERVICES
    for a in range(p.ACCOUNTS):
        await world.open_account(f"acct{a}", 100_000)
    requests = workload(chaos.rng, api, p)
    # the window kills need a charge: tokens without a cancel (one sent alongside its make
    # can win the race and leave nothing to charge: the kill would never come)
    cancelled = {r.meta["subject"] for r in requests if r.meta.get("action") == "cancel"}
    victims = [
        next(f"tok{j}" for j in range(i, p.TOKENS) if f"tok{j}" not in cancelled)
        for i in (p.TOKENS // 4, p.TOKENS * 3 // 5)
    ]
    # a slow bank, not a refusing one: these tokens' withdraws are answered 2 s late
    calm = [f"tok{i}" for i in range(p.TOKENS) if f"tok{i}" not in cancelled | set(victims)]
    for token in chaos.rng.sample(calm, min(p.SLOW_BANK, len(calm))):
        await world.set_knob("withdraw", token, latency_ms=p.SLOW_BANK_MS)
    faults = await chaos.effect_window(name, "withdraw", victims)
    faults += seeded_kills(
        chaos.fault_rng, len(requests), ["server", "server", name], window=(0.3, 0.95)
    )
    # a client gives up on a request within 6 + 5 s, before its token expires (12 s after
    # its first transition): a retry after expiry would be a new payment, by design
    await chaos.drive(requests, faults, retry_for=6, timeout=5)
    # the quiesce includes the pending expiry timers
    reads = [(f"tok{i}", api.status(f"tok{i}")) for i in range(p.TOKENS)]
    finals = [r.as_action("status", token) for token, r in reads if r is not None]
    await chaos.verify(checks, reads=finals, timeout=30)


async def test_token_state_machine(chaos: Run) -> None:
    await run_scenario(chaos, "payments", checks)


def token_checks(
    run: RunData, api: TokensContract, service: str = "payments"
) -> list[Verdict | Check]:
    p = Params.of(run)  # also the Stripe-style front's (scenario_stripe_api.py)
    records = run.actions()  # in the scenario's words: make / cancel / status of a token

    def cleared() -> Verdict:  # the tokens' states after expiry, read through the adapter
        reads = run.answers("status")
        kept = {k: v for k, v in reads.items() if not api.cleared(v)}
        return Verdict(
            "expired tokens are cleared",
            not kept if reads else "unknown",
            f"{len(kept)} tokens still hold state after expiry"
            if kept
            else "every token reads empty after its expiry"
            if reads
            else "not exercised: the service's contract has no status read",
            {"not_cleared": len(kept)},
            [{"key": k, "problem": f"state {v} after expiry"} for k, v in kept.items()],
            id="cleared",
        )

    return [
        check_tokens(records, run.ledger, "make", "cancel", status=api.paid_status),
        check_timers(
            records,
            run.ledger,
            ("make", "cancel"),
            timer_of=lambda o: (f"{o.key}:expired", api.expiry_ms / 1000),
            manifest=run.manifest,
            name="each token expires once, on time",
        ).resting_on(run.assumed(service, "expiry_ms")),
        Check("cleared", cleared),
        check_vacuity(records, min_ok=p.TOKENS, min_faults=3),
    ]


def checks(run: RunData) -> list[Verdict | Check]:
    return token_checks(run, run.contract("payments", TokensContract))
