"""Resilient communication: a ticket purchase charges once (request-response), emails the
ticket once (one-way message) and sends one reminder (delayed message, a durable timer)
not before it is due, while the service and the server are killed, timers pending.

Services: ConcertTicketing, TicketPayments, TicketEmails (services/tickets.py); the world's
          gateway and email.
Workload: 150 purchases, 32 at a time, the ticket id as idempotency key (a fifth sent twice);
          each reminder is due 1-4 s after the purchase.
Faults:   kill -9 of the service right after the world records a charge (x2), and a reset of
          the streams to it right after another charge (the network twin); kill -9 of the
          server twice and of the service once, jittered latency on the path to the service
          for 1.5 s and a reset of its next invocation attempt, at seeded points, while
          reminders wait.
Checks:   one charge, one ticket email and one reminder per purchase; no reminder before it
          was due nor later than the run measured (the unavailability once it was due, the
          catch-up after an outage, a retry per fault, the machine's baseline:
          harness/checkers/bounds.py); one answer per idempotency key; every invocation
          (the delayed ones too) completed; the faults landed while requests were in flight.
"""

import random
from dataclasses import dataclass
from typing import Any

import harness
from harness import (
    Contract,
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_idempotent_response,
    check_timers,
    check_vacuity,
    scaled,
    seeded_kills,
    seeded_plan,
)


@dataclass(frozen=True)
class Params(harness.Params):
    TICKETS: int = scaled(150)
    DUPLICATE: float = 0.2
    # each reminder is due between these many ms after its purchase
    REMIND_MIN_MS: int = 1000
    REMIND_MAX_MS: int = 4000


class TicketsContract(Contract):
    """What the scenario asks of the ticketing service, in the bundled ConcertTicketing
    API: buy({"ticket", "amount", "remind_in_ms"}) -> "ticket t1 paid: ...". For another
    API, subclass and override (`--adapter tickets=mypkg.chaos:MyTickets`). The service
    must route its effects through the world under these keys: the charge "<ticket>:pay",
    the ticket email "<ticket>:ticket", the reminder email "<ticket>:reminder"."""

    def buy(self, ticket: str, amount: int, remind_in_ms: int, idem: str) -> Request:
        """Buy `ticket`: charge `amount`, email the ticket, remind `remind_in_ms` later."""
        body = {"ticket": ticket, "amount": amount, "remind_in_ms": remind_in_ms}
        return Request("ConcertTicketing", "buy", body=body, idem=idem)

    def reminder_due_s(self, op: Any) -> float:
        """Seconds after the request's send (`op.invoke["wall"]`) at which its reminder is
        due: the `remind_in_ms` the scenario asked for. An API that takes an absolute time
        (a concert date) overrides this to read it from the request it sent
        (`op.invoke["api_req"]`)."""
        return op.invoke["req"]["remind_in_ms"] / 1000

    def bought(self, answer: Any) -> bool:
        """Modelling choice, what counts as applied: did the answer say the ticket was
        paid (then its charge, email and reminder must each happen once)?"""
        return "paid" in str(answer)

    def check_answer(self, action: str, answer: Any) -> None:
        self.bought(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "tickets": "harness.bundled.services.tickets:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"tickets": TicketsContract}

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


def workload(rng: random.Random, api: TicketsContract, p: Params) -> list[Request]:
    requests = []
    for i in range(p.TICKETS):
        ticket, amount = f"t{i}", rng.randint(20, 90)
        remind_in_ms = rng.randint(p.REMIND_MIN_MS, p.REMIND_MAX_MS)
        req = api.buy(ticket, amount, remind_in_ms, idem=ticket).as_action(
            "buy", ticket, remind_in_ms=remind_in_ms
        )
        requests.append(req)
        if rng.random() < p.DUPLICATE:
            requests.append(req)
    return requests


async def test_charge_email_reminder_once(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("tickets")
    await chaos.start()  # the world, the server, SERVICES

    requests = workload(chaos.rng, api, p)
    victims = [f"t{i}:pay" for i in (p.TICKETS // 4, p.TICKETS * 2 // 3)]
    faults = await chaos.effect_window("tickets", "charge", victims)
    twin = [f"t{p.TICKETS * 9 // 10}:pay"]  # the network twin: its stream reset after the charge
    faults += await chaos.effect_window("tickets", "charge", twin, kind="reset")
    faults += seeded_kills(
        chaos.fault_rng, len(requests), ["server", "server", "tickets"], window=(0.3, 0.95)
    )
    path = [("latency", "tickets", {"latency_ms": 200, "jitter_ms": 200}), ("fail-nth", "tickets")]
    faults += seeded_plan(chaos.fault_rng, len(requests), path, downtime=1.5, window=(0.3, 0.95))
    await chaos.drive(requests, faults, retry_for=30)

    await chaos.verify(checks, timeout=30)  # also waits for the pending reminders


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("tickets", TicketsContract)
    records = run.actions()  # in the scenario's words: buy of a ticket
    return [
        check_exactly_once(
            records,
            run.ledger,
            "charge",
            "buy",
            api.bought,
            name="charged once",
            key_of=lambda o: f"{o.key}:pay",
        ),
        check_exactly_once(
            records,
            run.ledger,
            "email",
            "buy",
            api.bought,
            name="ticket emailed once",
            key_of=lambda o: f"{o.key}:ticket",
            scope=lambda key: key.endswith(":ticket"),
        ),
        check_timers(
            records,
            run.ledger,
            "buy",
            manifest=run.manifest,
            name="one reminder, on time",
            timer_of=lambda o: (f"{o.key}:reminder", api.reminder_due_s(o)),
        ),
        check_idempotent_response(records, "buy"),
        check_vacuity(records, min_ok=p.TICKETS // 2, min_faults=3),
    ]
