"""Resilient communication: a ticket purchase charges once (request-response), emails the
ticket once (one-way message) and sends one reminder (delayed message, a durable timer)
not before it is due, while the service and the server are killed, timers pending.

Services: ConcertTicketing, TicketPayments, TicketEmails (services/tickets.py); the world's
          gateway and email.
Workload: 150 purchases, 32 at a time, the ticket id as idempotency key (a fifth sent twice);
          each reminder is due 1-4 s after the purchase.
Faults:   kill -9 of the service right after the world records a charge (x2); kill -9 of
          the server twice and of the service once at seeded points, while reminders wait.
Checks:   one charge, one ticket email and one reminder per purchase; no reminder before it
          was due nor more than 15 s after; one answer per idempotency key; every invocation
          (the delayed ones too) completed; the faults landed while requests were in flight.
"""

import random

from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_idempotent_response,
    check_timers,
    check_vacuity,
    seeded_kills,
)

TICKETS, DUPLICATE, LATE_BOUND = 150, 0.2, 15.0
SCALED = ("TICKETS",)  # the workload sizes --scale N multiplies
SERVICES = ["ConcertTicketing", "TicketPayments", "TicketEmails"]


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "tickets": "harness.bundled.services.tickets:app",
}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "tickets",
        "harness.bundled.services.broken.tickets_early_reminder:app",
        ("timers",),
        "reminder sent without send_delay",
    ),
    Control(
        "tickets",
        "harness.bundled.services.broken.tickets_email_outside_journal:app",
        ("exactly_once:email",),
        "ticket email outside Restate with a fresh key",
    ),
]


def workload(rng: random.Random) -> list[Request]:
    requests = []
    for i in range(TICKETS):
        body = {
            "ticket": f"t{i}",
            "amount": rng.randint(20, 90),
            "remind_in_ms": rng.randint(1000, 4000),
        }
        req = Request("ConcertTicketing", "buy", body=body, idem=f"t{i}")
        requests.append(req)
        if rng.random() < DUPLICATE:
            requests.append(req)
    return requests


async def test_charge_email_reminder_once(chaos: Run) -> None:
    await chaos.start_world()
    await chaos.start_server()
    await chaos.start_service("tickets")

    requests = workload(chaos.rng)
    victims = [f"t{i}:pay" for i in (TICKETS // 4, TICKETS * 2 // 3)]
    faults = await chaos.effect_window("tickets", "charge", victims)
    faults += seeded_kills(
        chaos.fault_rng, len(requests), ["server", "server", "tickets"], window=(0.3, 0.95)
    )
    await chaos.drive(requests, faults, retry_for=30)

    await chaos.verify(checks, timeout=30)  # also waits for the pending reminders


def ticket(o) -> str:
    return o.invoke["req"]["ticket"]


def checks(run: RunData) -> list[Verdict]:
    def paid(r: str) -> bool:
        return "paid" in r

    return [
        check_exactly_once(
            run.records,
            run.ledger,
            "charge",
            "buy",
            paid,
            name="charged once",
            key_of=lambda o: f"{ticket(o)}:pay",
        ),
        check_exactly_once(
            run.records,
            run.ledger,
            "email",
            "buy",
            paid,
            name="ticket emailed once",
            key_of=lambda o: f"{ticket(o)}:ticket",
            scope=lambda key: key.endswith(":ticket"),
        ),
        check_timers(
            run.records,
            run.ledger,
            "buy",
            late_bound=LATE_BOUND,
            name="one reminder, on time",
            timer_of=lambda o: (f"{ticket(o)}:reminder", o.invoke["req"]["remind_in_ms"] / 1000),
        ),
        check_idempotent_response(run.records, "buy"),
        check_vacuity(run.records, min_ok=TICKETS // 2, min_faults=3),
    ]
