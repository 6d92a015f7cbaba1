"""Orders are charged once, even when Checkout dies right after the provider charged.

Services: Checkout (orders/service.py), its payment provider simulated by the world.
Workload: 120 orders, a fifth sent twice, each with its idempotency key; some cards decline.
Faults:   kill -9 of Checkout right after the provider records a charge (x3); kill -9 of
          Checkout and of the server at seeded points.
Checks:   one effective charge per accepted order, none for a declined one; the same answer
          for the same idempotency key; the faults landed in flight.
"""

from dataclasses import dataclass

import harness
from harness import (
    Control,
    Request,
    Run,
    RunData,
    Verdict,
    check_exactly_once,
    check_idempotent_response,
    check_vacuity,
    seeded_kills,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):  # --param NAME=VALUE; --scale N multiplies the scaled ones
    ORDERS: int = harness.scaled(120)
    DUPLICATE: float = 0.2
    DECLINE: float = 0.05


SERVICES = {"checkout": "orders.service:app"}  # name -> default implementation

CONTROLS = [
    Control("checkout", "orders.broken:app", ("exactly_once:charge",), "a fresh key per attempt")
]


def workload(chaos: Run) -> list[Request]:
    requests, p = [], chaos.params
    for i in range(p.ORDERS):
        order = {"orderId": f"o{i}", "customer": f"c{i % 7}", "totalCents": 100 + i}
        req = Request("Checkout", "placeOrder", body=order, idem=f"order-o{i}")
        requests += [req, req] if chaos.rng.random() < p.DUPLICATE else [req]
    return requests


async def test_orders_charged_once(chaos: Run) -> None:
    world = await chaos.start()  # the world, the server and SERVICES

    requests, p = workload(chaos), chaos.params
    declined = chaos.rng.sample([f"o{i}" for i in range(p.ORDERS)], int(p.ORDERS * p.DECLINE))
    for order in declined:
        await world.set_knob("charge", order, decline=True)
    by_order = [Request("Checkout", "placeOrder", key=r.body["orderId"]) for r in requests]
    victims = spread_keys(by_order, 3, exclude=set(declined))
    plan = await chaos.effect_window("checkout", "charge", victims)
    plan += seeded_kills(chaos.fault_rng, len(requests), ["checkout", "server"])
    await chaos.drive(requests, plan, retry_for=20)

    await chaos.verify(checks)


def checks(run: RunData) -> list[Verdict]:
    return [
        check_exactly_once(
            run.records,
            run.ledger,
            "charge",
            "placeOrder",
            applied=lambda answer: answer["result"] == "ACCEPTED",
            key_of=lambda op: op.invoke["req"]["orderId"],
            name="each order charged once",
        ),
        check_idempotent_response(run.records, "placeOrder"),
        check_vacuity(run.records, min_ok=Params.of(run).ORDERS, min_faults=3),
    ]
