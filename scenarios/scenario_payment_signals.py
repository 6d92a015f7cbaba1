"""Payment signals and durable timers: a payment waits for the provider's webhook (an
awakeable resolved through the ingress) or a 2 s durable timeout that cancels it, while the
service and the server are killed with timers and awakeables pending.

Services: PaymentsWithTimeout (services/payment_signals.py); the world's gateway calls the
          webhook back into Restate's ingress as planned per payment.
Workload: 100 payments arriving at 30/s, the payment id as idempotency key. Webhooks per
          payment (seeded): 45% once in 0.1-0.9 s, 15% twice, 10% near the timeout
          (1.6-2.4 s), 15% late (2.8-4 s, after the cancel), 15% never.
Faults:   kill -9 of the service right after a charge is recorded (x2) and right after a
          cancel is recorded (x2, its answer held back); kill -9 of the server twice at
          seeded points, while timers and awakeables wait; an upgrade to version 2
          (services/payment_signals_v2.py, one more journaled step) at a seeded point, with
          payments suspended on version 1 (UPGRADE "drain": version 1 stopped once nothing
          is pinned to it; "in_place", the control: replaced on its endpoint at once). The
          provider's deliveries faulted: one sent twice (the copy a request of its own) and
          one made 3 s late at seeded points; for six payments planned with two deliveries,
          spread over the workload, the second sent first and the first 3 s later.
Checks:   each payment confirmed (with a webhook, no cancel) or cancelled exactly once, not
          before the timeout; never both; an early webhook wins; late webhooks change
          nothing; one answer per payment; every invocation completed; faults in flight.
"""

import random
from dataclasses import dataclass
from typing import Any

import harness
from harness import (
    SIGNAL_LOST,
    Contract,
    Control,
    Fault,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_idempotent_response,
    check_signals,
    check_vacuity,
    mark_known,
    scaled,
    seeded_kills,
    seeded_plan,
    seeded_upgrade,
    signal_lost,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):
    PAYMENTS: int = scaled(100)
    DELIVERY_FAULTS: tuple[tuple[str, str], ...] = (
        ("duplicate-delivery", "world"),
        ("late-delivery", "world"),
    )
    # a reordered pair tells only if no server restart comes between its early delivery and
    # the payment's timeout (a restart may lose a resolved awakeable: a known Restate bug,
    # excused), and the scenario's kills are dense: so six, each aimed at its own payment
    # planned with two deliveries, spread over the workload (faults armed together would
    # strike neighbours)
    REORDERED: int = 6
    UPGRADE: str = "drain"  # how version 2 is deployed: "drain" (the safe way) or "in_place"
    V2: str = "harness.bundled.services.payment_signals_v2:app"


class SignalsContract(Contract):
    """What the scenario asks of the payment service, in the bundled PaymentsWithTimeout
    API: process({"id", "amount"}) -> {"status": "confirmed" | "cancelled"}, waiting for the
    provider's webhook or `timeout_s`. For another API, subclass and override (`--adapter
    payments=mypkg.chaos:MySignals`). The service must start the payment as a world charge
    with the payment id as `key` and `webhook: {path, body}` (where the provider calls back
    through Restate's ingress), and cancel it as a world cancel with the same key."""

    ASSUMPTIONS = {"timeout_s": "how long a payment waits for its webhook"}
    timeout_s = 2.0

    def process(self, payment: str, amount: int, idem: str) -> Request:
        """Start `payment` and answer once it is confirmed or cancelled."""
        body = {"id": payment, "amount": amount}
        return Request("PaymentsWithTimeout", "process", body=body, idem=idem)

    def outcome(self, answer: Any) -> str:
        """What a process answer says: "confirmed" or "cancelled"."""
        return str(answer["status"])

    def check_answer(self, action: str, answer: Any) -> None:
        self.outcome(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "payments": "harness.bundled.services.payment_signals:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"payments": SignalsContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "payments",
        "harness.bundled.services.broken.payment_signals_cancel_outside_run:app",
        ("signals",),
        "cancel after the timeout outside ctx.run with a fresh key",
    ),
    Control(
        "payments",
        "harness.bundled.services.broken.payment_signals_redelivery_ignored:app",
        ("signals",),
        "a webhook delivery numbered 2+ dropped as a retry: lost when it overtakes the first",
    ),
    Control(
        "payments",
        "harness.bundled.services.payment_signals:app",
        ("upgrades", "determinism"),
        "version 2 deployed in place (v1 killed, its endpoint re-registered with force) while "
        "payments are suspended on v1: they replay on code with one more step",
        params=(("UPGRADE", "in_place"),),
    ),
]


def webhook_plan(rng: random.Random) -> list[float]:
    r = rng.random()
    first = round(rng.uniform(0.1, 0.9), 3)
    if r < 0.45:
        return [first]
    if r < 0.60:
        return [first, round(first + rng.uniform(0.3, 2.5), 3)]
    if r < 0.70:
        return [round(rng.uniform(1.6, 2.4), 3)]
    if r < 0.85:
        return [round(rng.uniform(2.8, 4.0), 3)]
    return []


async def test_confirmed_or_cancelled_once(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("payments")
    world = await chaos.start()  # the world, the server, SERVICES
    server = chaos.server

    plans = {f"p{i}": webhook_plan(chaos.rng) for i in range(p.PAYMENTS)}
    await world.webhooks(server.ingress_url, plans)
    requests = [api.process(p, 10 + i, idem=p).as_action("process", p) for i, p in enumerate(plans)]
    never = [p for p, plan in plans.items() if not plan]
    charged, cancelled = never[len(never) // 3 :: 4][:2], never[::5][:2]
    faults = await chaos.effect_window("payments", "charge", charged)
    faults += await chaos.effect_window("payments", "cancel", cancelled)
    faults += seeded_kills(chaos.fault_rng, len(requests), ["server", "server"], window=(0.3, 0.9))
    upgrade = {"app": p.V2, "in_place": p.UPGRADE == "in_place"}
    faults += seeded_upgrade(chaos.fault_rng, len(requests), "payments", upgrade)
    # the provider's deliveries faulted on purpose: a copy, one late, six out of order (last:
    # the other faults keep the numbers and places a seed gave them before these came)
    faults += seeded_plan(chaos.fault_rng, len(requests), p.DELIVERY_FAULTS, window=(0.05, 0.6))
    pairs = [r for r in requests if len(plans[r.meta["subject"]]) >= 2]
    faults += [
        Fault("reorder-delivery", "world", at=0.0, args={"key": key, "within_s": 120.0})
        for key in spread_keys(pairs, min(p.REORDERED, len({r.meta["subject"] for r in pairs})))
    ]
    await chaos.drive(requests, faults, retry_for=20, rate=30)

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("payments", SignalsContract)
    records = run.actions()  # in the scenario's words: process of a payment
    signals = check_signals(
        records,
        run.ledger,
        "process",
        payment_of=lambda o: o.key or "",
        timeout=api.timeout_s,
        outcome=api.outcome,
        manifest=run.manifest,
    ).resting_on(run.assumed("payments", "timeout_s"))
    # a webhook accepted before the timeout, lost by the server in a restart (the bundled
    # service keys the payment by its id and the webhook by "<id>:webhook:<n>")
    signals = mark_known(
        signals, SIGNAL_LOST, lambda cx: signal_lost(run, cx["key"], f"{cx['key']}:webhook:")
    )
    return [
        signals,
        check_exactly_once(
            records,
            run.ledger,
            "charge",
            "process",
            lambda r: True,
            name="each payment started once",
        ),
        check_idempotent_response(records, "process"),
        check_vacuity(records, min_ok=p.PAYMENTS // 2, min_faults=2),
    ]
