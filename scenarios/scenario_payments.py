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

from harness import Request, Run
from harness.checkers.effects import (
    check_balances,
    check_exactly_once,
    check_idempotent_response,
)
from harness.checkers.vacuity import check_vacuity
from harness.nemesis.faults import effect_window_plan

PAYMENTS, ACCOUNTS, BALANCE = 300, 10, 1_000_000
DUPLICATE, REFUND, DECLINE = 0.25, 0.2, 0.03


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
    await chaos.start_service("services.payments:app", name="payments")

    rng = chaos.rng
    requests = workload(rng)
    for a in range(ACCOUNTS):
        await world.open_account(f"acct{a}", BALANCE)
    keys = [f"p{i}" for i in range(PAYMENTS)]
    declined = rng.sample(keys, int(PAYMENTS * DECLINE))
    victims = rng.sample(sorted(set(keys) - set(declined))[PAYMENTS // 10 :], 3)
    for key in declined:
        await world.set_knob("charge", key, decline=True)
    for key in victims:  # the charge is applied, its answer held back: the dangerous window
        await world.set_knob("charge", key, latency_ms=300)

    plan = effect_window_plan(
        rng, requests, "payments", "charge", victims, seeded_targets=("payments", "server")
    )
    await chaos.drive(requests, plan, retry_for=20)

    await chaos.heal()
    await chaos.quiesce(["Payments"], timeout=20)
    final = {k: await chaos.read(Request("Payments", "get", key=k)) for k in keys}
    ledger = await chaos.ledger()
    expected = {f"acct{a}": BALANCE for a in range(ACCOUNTS)}
    for p in final.values():
        if p and p["status"] == "completed":
            expected[p["account"]] -= p["amount"]
    records = chaos.records()
    chaos.check(
        check_exactly_once(
            records,
            ledger,
            "charge",
            "create",
            name="no double charge",
            applied=lambda r: r["status"] in ("completed", "refunded"),
        ),
        check_exactly_once(
            records,
            ledger,
            "refund",
            "refund",
            name="refund at most once",
            applied=lambda r: r["status"] == "refunded",
        ),
        check_idempotent_response(records, "create"),
        check_balances(ledger, expected),
        check_vacuity(records, min_ok=PAYMENTS, min_faults=4),
    )
    chaos.assert_held()
