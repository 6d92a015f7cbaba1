"""Idempotent payments: no double charge when the service dies right after the gateway charged.

Services: the Payments virtual object (services/payments.py); the world's gateway and accounts.
Workload: 300 payments over 10 accounts, 32 at a time, each create with its idempotency key;
          a quarter sent twice at once; a fifth get two racing refunds; some cards decline.
Faults:   kill -9 of the payment service right after the world records a charge (the answer is
          held back, so the charge is not yet journaled) x3; kill -9 of the service and of the
          server at seeded points.
Checks:   at most one effective charge per payment and exactly one when acknowledged; at most one
          refund; one answer per idempotency key; balances = initial - completed charges;
          every invocation completed; the faults landed while requests were in flight.
"""

import random

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_balances,
    check_exactly_once,
    check_idempotent_response,
    check_vacuity,
    seeded_kills,
    spread_keys,
)

PAYMENTS, ACCOUNTS, BALANCE = 300, 10, 1_000_000
DUPLICATE, REFUND, DECLINE = 0.25, 0.2, 0.03


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "payments": "harness.bundled.services.payments:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "payments",
        "harness.bundled.services.broken.payments_random_key:app",
        ("exactly_once:charge",),
        "gateway key from uuid4() inside ctx.run",
    ),
    Control(
        "payments",
        "harness.bundled.services.broken.payments_outside_run:app",
        ("exactly_once:charge",),
        "gateway charge outside ctx.run",
    ),
    Control(
        "payments",
        "harness.bundled.services.broken.payments_clock_state:app",
        ("determinism", "liveness"),
        "state set from datetime.now() outside ctx.run",
    ),
]


def workload(rng: random.Random) -> list[Request]:
    requests = []
    for i in range(PAYMENTS):
        body = {"amount": rng.randint(1, 100), "account": f"acct{rng.randrange(ACCOUNTS)}"}
        create = Request("Payments", "create", key=f"p{i}", body=body, idem=f"create-p{i}")
        requests.append(create)
        if rng.random() < DUPLICATE:
            requests.append(create)
        if rng.random() < REFUND:
            requests += [
                Request("Payments", "refund", key=f"p{i}", idem=f"refund-p{i}-{n}")
                for n in range(2)
            ]
    return requests


async def test_no_double_charge(chaos: Run) -> None:
    world = await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("payments")

    rng = chaos.rng
    requests = workload(rng)
    for a in range(ACCOUNTS):
        await world.open_account(f"acct{a}", BALANCE)
    keys = [f"p{i}" for i in range(PAYMENTS)]
    declined = rng.sample(keys, int(PAYMENTS * DECLINE))
    victims = spread_keys(requests, 3, exclude=set(declined))
    for key in declined:
        await world.set_knob("charge", key, decline=True)
    plan = await chaos.effect_window("payments", "charge", victims)  # the dangerous window
    plan += seeded_kills(chaos.fault_rng, len(requests), ("payments", "server"))
    await chaos.drive(requests, plan, retry_for=20)

    finals = [Request("Payments", "get", key=key) for key in keys]
    await chaos.verify(checks, reads=finals, timeout=20)


def checks(run: RunData) -> list[Verdict]:
    expected = {f"acct{a}": BALANCE for a in range(ACCOUNTS)}
    for payment in run.final_reads("Payments", "get").values():
        if payment and payment["status"] == "completed":
            expected[payment["account"]] -= payment["amount"]
    return [
        check_exactly_once(
            run.records,
            run.ledger,
            "charge",
            "create",
            name="no double charge",
            applied=lambda r: r["status"] in ("completed", "refunded"),
        ),
        check_exactly_once(
            run.records,
            run.ledger,
            "refund",
            "refund",
            name="refund at most once",
            applied=lambda r: r["status"] == "refunded",
        ),
        check_idempotent_response(run.records, "create"),
        check_balances(run.ledger, expected),
        check_vacuity(run.records, min_ok=PAYMENTS, min_faults=4),
    ]
