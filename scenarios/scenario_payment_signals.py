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
          seeded points, while timers and awakeables wait.
Checks:   each payment confirmed (with a webhook, no cancel) or cancelled exactly once, not
          before the timeout; never both; an early webhook wins; late webhooks change
          nothing; one answer per payment; every invocation completed; faults in flight.
"""

import random

from harness.bundled.services.payment_signals import TIMEOUT

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_idempotent_response,
    check_signals,
    check_vacuity,
    seeded_kills,
)

PAYMENTS = 100
SCALED = ("PAYMENTS",)  # the workload sizes --scale N multiplies


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "payments": "harness.bundled.services.payment_signals:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "payments",
        "harness.bundled.services.broken.payment_signals_cancel_outside_run:app",
        ("signals",),
        "cancel after the timeout outside ctx.run with a fresh key",
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
    world = await chaos.start_world()
    server = await chaos.start_server()
    await chaos.start_service("payments")

    plans = {f"p{i}": webhook_plan(chaos.rng) for i in range(PAYMENTS)}
    await world.webhooks(server.ingress_url, plans)
    requests = [
        Request("PaymentsWithTimeout", "process", body={"id": p, "amount": 10 + i}, idem=p)
        for i, p in enumerate(plans)
    ]
    never = [p for p, plan in plans.items() if not plan]
    charged, cancelled = never[len(never) // 3 :: 4][:2], never[::5][:2]
    faults = await chaos.effect_window("payments", "charge", charged)
    faults += await chaos.effect_window("payments", "cancel", cancelled)
    faults += seeded_kills(chaos.fault_rng, len(requests), ["server", "server"], window=(0.3, 0.9))
    await chaos.drive(requests, faults, retry_for=20, rate=30)

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    def payment(o) -> str:
        return o.invoke["req"]["id"]

    return [
        check_signals(
            run.records,
            run.ledger,
            "process",
            payment_of=payment,
            timeout=TIMEOUT.total_seconds(),
        ),
        check_exactly_once(
            run.records,
            run.ledger,
            "charge",
            "process",
            lambda r: True,
            name="each payment started once",
            key_of=payment,
        ),
        check_idempotent_response(run.records, "process"),
        check_vacuity(run.records, min_ok=PAYMENTS // 2, min_faults=2),
    ]
