"""Durable RPC: each product is reserved at most once, and a repeated request gets the first
answer, while the product service and the server are killed.

Services: the Products virtual object (services/products.py); the world's inventory.
Workload: 400 reservations of 60 products (many collide on one product), 32 at a time; the
          reservation id is the idempotency key; a quarter are sent again, at once or later.
Faults:   kill -9 of the product service right after the inventory records a reservation
          (its answer held back) x3; kill -9 of the service and of the server at seeded points.
Checks:   at most one reservation per product in the inventory, exactly one when acknowledged;
          at most one acknowledged winner per product; one answer per reservation id; every
          invocation completed; the faults landed while requests were in flight.
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
    check_single_winner,
    check_vacuity,
    scaled,
    seeded_kills,
    spread_keys,
)


@dataclass(frozen=True)
class Params(harness.Params):
    RESERVATIONS: int = scaled(400)
    PRODUCTS: int = scaled(60)
    DUPLICATE: float = 0.25


class ProductsContract(Contract):
    """What the scenario asks of the inventory service, in the bundled Products object's
    API: reserve({"reservation"}) -> {"reserved": bool}, keyed by product. For another API,
    subclass and override (`--adapter products=mypkg.chaos:MyProducts`). The service must
    reserve through the world with the product as the business `key`."""

    def reserve(self, product: str, reservation: str, idem: str) -> Request:
        """Try to reserve `product` for `reservation` (one winner per product)."""
        body = {"reservation": reservation}
        return Request("Products", "reserve", key=product, body=body, idem=idem)

    def won(self, answer: Any) -> bool:
        """Modelling choice, what counts as applied: did the answer say this reservation
        got the product?"""
        return bool(answer["reserved"])

    def check_answer(self, action: str, answer: Any) -> None:
        self.won(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "products": "harness.bundled.services.products:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"products": ProductsContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "products",
        "harness.bundled.services.broken.products_in_memory:app",
        ("exactly_once:reserve", "single_winner"),
        "reservation holder in a module global",
    ),
]


def workload(rng: random.Random, api: ProductsContract, p: Params) -> list[Request]:
    requests: list[Request] = []
    for i in range(p.RESERVATIONS):
        product = f"prod{rng.randrange(p.PRODUCTS)}"
        req = api.reserve(product, f"r{i}", idem=f"r{i}").as_action("reserve", product)
        requests.append(req)
        if rng.random() < p.DUPLICATE:  # again: right away, or a little later
            requests.insert(rng.randrange(len(requests), len(requests) + 30), req)
    return requests


async def test_each_product_reserved_once(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("products")
    await chaos.start()  # the world, the server, SERVICES

    rng = chaos.rng
    requests = workload(rng, api, p)
    victims = spread_keys(requests, 3)
    plan = await chaos.effect_window("products", "reserve", victims)
    plan += seeded_kills(chaos.fault_rng, len(requests), ("products", "server"))
    await chaos.drive(requests, plan, retry_for=20)

    await chaos.verify(checks, timeout=20)


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("products", ProductsContract)
    records = run.actions()  # in the scenario's words: reserve of a product
    return [
        check_exactly_once(
            records,
            run.ledger,
            "reserve",
            "reserve",
            name="each product reserved at most once",
            applied=api.won,
        ),
        check_single_winner(
            records, "reserve", won=api.won, name="one acknowledged winner per product"
        ),
        check_idempotent_response(records, "reserve"),
        check_vacuity(records, min_ok=p.RESERVATIONS, min_faults=4),
    ]
