"""Payment state machine: per token, concurrent and duplicated makes and cancels in every
order end in one payment, or in a cancel that nets to zero; each token expires once, on
time, and is cleared; while the service and the server are killed, expiry timers pending.

Services: the PaymentProcessor virtual object keyed by token (services/payment_processor.py);
          the world's accounts.
Workload: 150 tokens over 8 accounts, 32 requests at a time: every token gets a make, half
          also a cancel (before or after it, at random), a fifth of the requests sent twice,
          each with its own idempotency key. Tokens expire 12 s after their first transition;
          a client stops retrying a request within 11 s, so none arrives after its expiry.
Faults:   kill -9 of the service right after the world records a payment (x2), kill -9 of
          the server twice and of the service once at seeded points.
Checks:   per token at most one payment and one refund, never a refund without a payment;
          acknowledged cancels net to zero; acknowledged payments without a cancel were
          charged once; every processed token expired once, not before it was due, and reads
          empty afterwards; every invocation completed; faults landed in flight.
"""

import random
from collections.abc import Callable

from harness.bundled.services.payment_processor import EXPIRY_MS

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_timers,
    check_tokens,
    check_vacuity,
    seeded_kills,
)

TOKENS, ACCOUNTS, CANCEL, DUPLICATE = 150, 8, 0.5, 0.2
SCALED = ("TOKENS", "ACCOUNTS")  # the workload sizes --scale N multiplies
SERVICE = "PaymentProcessor"


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "payments": "harness.bundled.services.payment_processor:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "payments",
        "harness.bundled.services.broken.payment_processor_in_memory:app",
        ("tokens",),
        "token status in a module global",
    ),
]


def requests_for(rng: random.Random, make_req, cancel_req) -> list[Request]:
    """Per token a make, maybe a cancel (either order); some requests twice."""
    requests: list[Request] = []
    for i in range(TOKENS):
        token = f"tok{i}"
        body = {"account": f"acct{rng.randrange(ACCOUNTS)}", "amount": rng.randint(1, 50)}
        pair = [make_req(token, body, f"make-{token}")]
        if rng.random() < CANCEL:
            pair.insert(rng.randrange(2), cancel_req(token, f"cancel-{token}"))
        for req in pair:
            requests.append(req)
            if rng.random() < DUPLICATE:
                requests.append(req)
    return requests


def workload(rng: random.Random) -> list[Request]:
    return requests_for(
        rng,
        lambda t, body, idem: Request(SERVICE, "makePayment", key=t, body=body, idem=idem),
        lambda t, idem: Request(SERVICE, "cancelPayment", key=t, idem=idem),
    )


async def run_scenario(chaos: Run, name: str, requests: list[Request], checks: Callable) -> None:
    world = await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service(name)
    for a in range(ACCOUNTS):
        await world.open_account(f"acct{a}", 100_000)
    victims = [f"tok{TOKENS // 4}", f"tok{TOKENS * 3 // 5}"]
    faults = await chaos.effect_window(name, "withdraw", victims)
    faults += seeded_kills(
        chaos.fault_rng, len(requests), ["server", "server", name], window=(0.3, 0.95)
    )
    # a client gives up on a request within 6 + 5 s, before its token expires (12 s after
    # its first transition): a retry after expiry would be a new payment, by design
    await chaos.drive(requests, faults, retry_for=6, timeout=5)
    # the quiesce includes the pending expiry timers
    finals = [Request(SERVICE, "status", key=f"tok{i}") for i in range(TOKENS)]
    await chaos.verify(checks, reads=finals, timeout=30)


async def test_token_state_machine(chaos: Run) -> None:
    await run_scenario(
        chaos,
        "payments",
        workload(chaos.rng),
        checks,
    )


def token_checks(run: RunData, token_of) -> list[Verdict]:
    expired = {k: v for k, v in run.final_reads(SERVICE, "status").items() if v is not None}
    cleared = Verdict(
        "expired tokens are cleared",
        not expired,
        f"{len(expired)} tokens still hold state after expiry"
        if expired
        else "every token reads empty after its expiry",
        {"not_cleared": len(expired)},
        [{"key": k, "problem": f"state {v} after expiry"} for k, v in expired.items()],
        id="cleared",
    )
    return [
        check_tokens(run.records, run.ledger, "makePayment", "cancelPayment", token_of),
        check_timers(
            run.records,
            run.ledger,
            ("makePayment", "cancelPayment"),
            timer_of=lambda o: (f"{token_of(o)}:expired", EXPIRY_MS / 1000),
            late_bound=20,
            name="each token expires once, on time",
        ),
        cleared,
        check_vacuity(run.records, min_ok=TOKENS, min_faults=3),
    ]


def checks(run: RunData) -> list[Verdict]:
    return token_checks(run, token_of=lambda o: o.key)
