"""Scheduling tasks: a failed payment starts reminders on a durable schedule that escalate
after the last one; a success stops them. The service and the server are killed while the
schedules run.

Services: PaymentTracker (services/payment_tracker.py); the world records reminders,
          escalations and payments.
Workload: 120 invoices arrive at 40/s as one-way failure events (the event id as
          idempotency key, a fifth delivered twice, as webhooks are); 40% get a success
          event, delayed 0.3-4 s (Restate's delayed send), racing their schedule, and a
          stale failure event 1-2.5 s after the success.
Faults:   kill -9 of the server twice and of the service twice at seeded points.
Checks:   reminders 1..3 once each, 1 s apart (at most 10 s late), none after the success,
          exactly one escalation when unpaid; every invocation completed; the faults
          landed while schedules were pending.
"""

import random

from harness.bundled.services.payment_tracker import INTERVAL, REMINDERS

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_schedule,
    check_vacuity,
    seeded_kills,
)

INVOICES, PAID, REDELIVERED, LATE_BOUND = 120, 0.4, 0.2, 10.0
SCALED = ("INVOICES",)  # the workload sizes --scale N multiplies


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "tracker": "harness.bundled.services.payment_tracker:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "tracker",
        "harness.bundled.services.broken.payment_tracker_in_memory:app",
        ("schedule",),
        "paid flag and reminder count in a module global",
    ),
]


def workload(rng: random.Random) -> list[Request]:
    requests: list[Request] = []
    for i in range(INVOICES):
        event = {"id": f"evt_fail_{i}", "invoice": f"inv{i}"}
        fail = Request(
            "PaymentTracker",
            "onPaymentFailure",
            key=f"inv{i}",
            body=event,
            idem=event["id"],
            send=True,
        )
        requests.append(fail)
        if rng.random() < REDELIVERED:
            requests.insert(rng.randrange(len(requests), len(requests) + 20), fail)
        if rng.random() < PAID:
            delay = rng.randint(300, 4000)
            for handler, evt, after in (
                ("onPaymentSuccess", f"evt_ok_{i}", delay),
                ("onPaymentFailure", f"evt_late_{i}", delay + rng.randint(1000, 2500)),
            ):
                requests.append(
                    Request(
                        "PaymentTracker",
                        handler,
                        key=f"inv{i}",
                        body={"id": evt, "invoice": f"inv{i}"},
                        idem=evt,
                        send=True,
                        delay_ms=after,
                        meta={"delay_ms": after},
                    )
                )
    return requests


async def test_reminders_stop_on_success(chaos: Run) -> None:
    await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("tracker")

    requests = workload(chaos.rng)
    plan = seeded_kills(
        chaos.fault_rng,
        len(requests),
        ["server", "tracker", "server", "tracker"],
        window=(0.2, 0.95),
    )
    await chaos.drive(requests, plan, retry_for=20, rate=40)

    await chaos.verify(checks, timeout=30)  # the schedules run to their end


def checks(run: RunData) -> list[Verdict]:
    return [
        check_schedule(
            run.records,
            run.ledger,
            "onPaymentFailure",
            subject_of=lambda o: o.key or "",
            reminders=REMINDERS,
            interval=INTERVAL.total_seconds(),
            late_bound=LATE_BOUND,
        ),
        check_idempotent_response(
            run.records, "onPaymentFailure", project=lambda r: r["invocationId"]
        ),
        check_vacuity(
            run.records,
            min_ok=INVOICES,
            min_faults=2,
            pending_until=run.last_effect_at,
        ),
    ]
