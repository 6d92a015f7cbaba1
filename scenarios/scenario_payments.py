"""Idempotent payments: no double charge when the service dies right after the gateway charged.

Services: the Payments virtual object (services/payments.py); the world's gateway and accounts.
Workload: 300 payments over 10 accounts, 32 at a time, each create with its idempotency key;
          a quarter sent twice at once; a fifth get two racing refunds; some cards decline.
Faults:   kill -9 of the payment service right after the world records a charge (the answer is
          held back, so the charge is not yet journaled) x4, and its network twin: a reset of
          the streams to the service right after a charge x2; kill -9 of the service and of
          the server at seeded points; on the path to the service, 1 s of jittered latency and
          a reset of the 5th invocation attempt, at seeded points.
Checks:   at most one effective charge per payment and exactly one when acknowledged; at most one
          refund; one answer per idempotency key; balances = initial - completed charges;
          every invocation completed; the faults landed while requests were in flight.
"""

import random
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
    check_balances,
    check_exactly_once,
    check_idempotent_response,
    check_vacuity,
    scaled,
    seeded_kills,
    seeded_plan,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):
    PAYMENTS: int = scaled(300)
    ACCOUNTS: int = scaled(10)
    BALANCE: int = 1_000_000
    DUPLICATE: float = 0.25
    REFUND: float = 0.2
    DECLINE: float = 0.03


class PaymentsContract(Contract):
    """What the scenario asks of the payment service, in the bundled Payments object's API.

    For another API, subclass this and override what differs (`--adapter
    payments=mypkg.chaos:MyPayments`). The service must charge through the world with the
    scenario's payment id as the business `key` (the world's knobs and the ledger are keyed
    by it), and the account and amount it was given.
    """

    def create(self, payment: str, amount: int, account: str, idem: str) -> Request:
        """Charge `amount` to `account` once for payment id `payment`."""
        body = {"amount": amount, "account": account}
        return Request("Payments", "create", key=payment, body=body, idem=idem)

    def refund(self, payment: str, idem: str) -> Request | None:
        """Refund the payment; None if the API has no refunds (then none are sent, and
        "refund at most once" is reported as not exercised)."""
        return Request("Payments", "refund", key=payment, idem=idem)

    def read(self, payment: str) -> Request | None:
        """Read the payment's state after the chaos; None if the API has no read (then the
        final state is judged from the answers the client got)."""
        return Request("Payments", "get", key=payment)

    def charged(self, answer: Any) -> bool:
        """Modelling choice, what counts as applied: did a `create` (or read) answer say
        the card was charged (a refunded payment was charged first)?"""
        return answer["status"] in ("completed", "refunded")

    def refunded(self, answer: Any) -> bool:
        """Did a `refund` (or read) answer say the money went back?"""
        return answer["status"] == "refunded"

    def check_answer(self, action: str, answer: Any) -> None:
        if action in ("create", "read"):
            self.charged(answer)
        elif action == "refund":
            self.refunded(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "payments": "harness.bundled.services.payments:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"payments": PaymentsContract}

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
    Control(
        "payments",
        "harness.bundled.services.broken.payments_inflight_guard:app",
        ("exactly_once:charge",),
        "in-process duplicate guard left set by an attempt cut off by a stream reset",
    ),
]


def workload(rng: random.Random, api: PaymentsContract, p: Params) -> list[Request]:
    requests = []
    for i in range(p.PAYMENTS):
        pid, amount, account = f"p{i}", rng.randint(1, 100), f"acct{rng.randrange(p.ACCOUNTS)}"
        create = api.create(pid, amount, account, idem=f"create-{pid}").as_action(
            "create", pid, amount=amount, account=account
        )
        requests += [create, create] if rng.random() < p.DUPLICATE else [create]
        if rng.random() < p.REFUND:
            for n in range(2):
                refund = api.refund(pid, idem=f"refund-{pid}-{n}")
                if refund is not None:
                    requests.append(refund.as_action("refund", pid))
    return requests


async def test_no_double_charge(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("payments")
    world = await chaos.start()  # the world, the server, SERVICES

    rng = chaos.rng
    requests = workload(rng, api, p)
    for a in range(p.ACCOUNTS):
        await world.open_account(f"acct{a}", p.BALANCE)
    keys = [f"p{i}" for i in range(p.PAYMENTS)]
    declined = rng.sample(keys, int(p.PAYMENTS * p.DECLINE))
    victims = spread_keys(requests, 6 * chaos.scale, exclude=set(declined))
    for key in declined:
        await world.set_knob("charge", key, decline=True)
    # the dangerous window: kill the service, or reset its streams, right after a charge
    resets = victims[1::3]  # two: a kill that follows one at once hides what it shows
    kills = [v for v in victims if v not in resets]
    plan = await chaos.effect_window("payments", "charge", kills)
    plan += await chaos.effect_window("payments", "charge", resets, kind="reset")
    plan += seeded_kills(chaos.fault_rng, len(requests), ("payments", "server"))
    path = [("latency", "payments", {"latency_ms": 300, "jitter_ms": 200})]
    path.append(("fail-nth", "payments", {"nth": 5}))
    plan += seeded_plan(chaos.fault_rng, len(requests), path, downtime=1.0)
    await chaos.drive(requests, plan, retry_for=20)

    reads = [(key, api.read(key)) for key in keys]
    finals = [r.as_action("read", key) for key, r in reads if r is not None]
    await chaos.verify(checks, reads=finals, timeout=20)


def final_states(run: RunData, api: PaymentsContract) -> dict[str, str]:
    """Per payment: charged, refunded or not charged: read after the chaos, else from the
    last answers the client got."""
    reads = run.answers("read")
    if reads:
        return {
            p: "refunded" if api.refunded(a) else "charged" if api.charged(a) else "none"
            for p, a in reads.items()
            if a is not None
        }
    states = {p: "charged" if api.charged(a) else "none" for p, a in run.answers("create").items()}
    states.update({p: "refunded" for p, a in run.answers("refund").items() if api.refunded(a)})
    return states


def checks(run: RunData) -> list[Verdict | Check]:
    p = Params.of(run)
    api = run.contract("payments", PaymentsContract)
    records = run.actions()  # the history in the scenario's words: create / refund / read

    def balances() -> Verdict:  # what each account holds, from the final states the adapter reads
        sent = {
            r["key"]: r for r in records if r.get("type") == "invoke" and r["handler"] == "create"
        }
        expected = {f"acct{a}": p.BALANCE for a in range(p.ACCOUNTS)}
        for payment, state in final_states(run, api).items():
            if state == "charged" and payment in sent:
                expected[sent[payment]["req"]["account"]] -= sent[payment]["req"]["amount"]
        return check_balances(run.ledger, expected)

    refunds_sent = any(r.get("handler") == "refund" for r in records if r.get("type") == "invoke")
    refund_verdict = (
        check_exactly_once(
            records,
            run.ledger,
            "refund",
            "refund",
            name="refund at most once",
            applied=api.refunded,
        )
        if refunds_sent
        else Verdict(
            "refund at most once",
            "unknown",
            "not exercised: the service's contract has no refund",
            id="exactly_once:refund",
        )
    )
    return [
        check_exactly_once(
            records,
            run.ledger,
            "charge",
            "create",
            name="no double charge",
            applied=api.charged,
            undo="refund",
        ),
        refund_verdict,
        check_idempotent_response(records, "create"),
        Check("balances", balances),
        check_vacuity(records, min_ok=p.PAYMENTS, min_faults=4),
    ]
