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
Checks:   reminders 1..3 once each, 1 s apart (late by no more than the run measured:
          harness/checkers/bounds.py), none after the success, exactly one escalation when
          unpaid; every invocation completed; the faults
          landed while schedules were pending.
"""

import random
from dataclasses import dataclass

import harness
from harness import (
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_schedule,
    check_vacuity,
    scaled,
    seeded_kills,
)


@dataclass(frozen=True)
class Params(harness.Params):
    INVOICES: int = scaled(120)
    PAID: float = 0.4
    REDELIVERED: float = 0.2


class TrackerContract(Contract):
    """What the scenario asks of the payment tracker, in the bundled PaymentTracker
    object's API (keyed by invoice): onPaymentFailure({"id", "invoice"}) starts the
    reminders, onPaymentSuccess({"id", "invoice"}) stops them; both arrive as one-way
    events. For another API, subclass and override (`--adapter tracker=mypkg.chaos:MyTracker`).
    The service must send reminder n as a world email with key "<invoice>:reminder" and
    resource n, the escalation as an event "<invoice>:escalation", and record the success
    as an event "<invoice>:paid"."""

    ASSUMPTIONS = {
        "reminders": "reminders the service sends before it escalates",
        "interval_s": "seconds between a reminder (or the failure) and the next step",
        "each_failure_reminds": "every failure event the service accepts sends a reminder "
        "at once (false: a failure while reminders are scheduled starts none)",
    }
    reminders = 3
    interval_s = 1.0
    each_failure_reminds = False

    def failure(self, invoice: str, event: str, delay_ms: int | None = None) -> Request:
        """Deliver the payment-failure event `event` (its id is the idempotency key)."""
        return self._event("onPaymentFailure", invoice, event, delay_ms)

    def success(self, invoice: str, event: str, delay_ms: int | None = None) -> Request:
        """Deliver the payment-success event `event`."""
        return self._event("onPaymentSuccess", invoice, event, delay_ms)

    def _event(self, handler: str, invoice: str, event: str, delay_ms: int | None) -> Request:
        body = {"id": event, "invoice": invoice}
        return Request(
            "PaymentTracker",
            handler,
            key=invoice,
            body=body,
            idem=event,
            send=True,
            delay_ms=delay_ms,
        )


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "tracker": "harness.bundled.services.payment_tracker:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"tracker": TrackerContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "tracker",
        "harness.bundled.services.broken.payment_tracker_in_memory:app",
        ("schedule",),
        "paid flag and reminder count in a module global",
    ),
    Control(
        "tracker",
        "harness.bundled.services.broken.payment_tracker_success_deferred:app",
        ("schedule",),
        "success deferred behind the schedule: reminders after it was due",
    ),
]


def workload(rng: random.Random, api: TrackerContract, p: Params) -> list[Request]:
    requests: list[Request] = []
    for i in range(p.INVOICES):
        invoice = f"inv{i}"
        fail = api.failure(invoice, f"evt_fail_{i}").as_action("onPaymentFailure", invoice)
        requests.append(fail)
        if rng.random() < p.REDELIVERED:
            requests.insert(rng.randrange(len(requests), len(requests) + 20), fail)
        if rng.random() < p.PAID:
            delay = rng.randint(300, 4000)
            late = delay + rng.randint(1000, 2500)
            requests += [
                api.success(invoice, f"evt_ok_{i}", delay).as_action("onPaymentSuccess", invoice),
                api.failure(invoice, f"evt_late_{i}", late).as_action("onPaymentFailure", invoice),
            ]
    return requests


async def test_reminders_stop_on_success(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("tracker")
    await chaos.start()  # the world, the server, SERVICES

    requests = workload(chaos.rng, api, p)
    plan = seeded_kills(
        chaos.fault_rng,
        len(requests),
        ["server", "tracker", "server", "tracker"],
        window=(0.2, 0.95),
    )
    await chaos.drive(requests, plan, retry_for=20, rate=40)

    await chaos.verify(checks, timeout=30)  # the schedules run to their end


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("tracker", TrackerContract)
    records = run.actions()  # in the scenario's words: failure / success events of an invoice
    return [
        check_schedule(
            records,
            run.ledger,
            "onPaymentFailure",
            subject_of=lambda o: o.key or "",
            reminders=api.reminders,
            interval=api.interval_s,
            manifest=run.manifest,
            stop_handler="onPaymentSuccess",
            each_start_reminds=api.each_failure_reminds,
        ).resting_on(run.assumed("tracker", "reminders", "interval_s", "each_failure_reminds")),
        check_idempotent_response(records, "onPaymentFailure", project=lambda r: r["invocationId"]),
        check_vacuity(
            records,
            min_ok=p.INVOICES,
            min_faults=2,
            pending_until=run.last_effect_at,
        ),
    ]
