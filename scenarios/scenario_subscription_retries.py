"""Durable execution with retries and a saga: subscriptions are created once despite a
flaky provider, and a provider that fails for good ends in a terminal error with
nothing half-done, while the service and the server are killed.

Services: SubscriptionService (services/subscription_saga.py); the world's gateway and
          providers.
Workload: 100 users subscribe to 1-3 of 4 services (user id as idempotency key, a fifth
          sent twice), 32 at a time. Every provider call fails its first 2 attempts (the
          gateway its first); for a fifth of the users one provider fails for good (the step
          exhausts its 4 attempts).
Faults:   kill -9 of the service right after the world records a compensation (x2); kill -9
          of the service and of the server at seeded points.
Checks:   each payment and subscription took effect at most once; users whose provider works
          are subscribed to everything with no compensation; the others got a terminal
          error, and their payment and earlier subscriptions were undone in reverse, once
          each; one answer per user; every invocation completed; faults landed in flight.
"""

import random
from dataclasses import dataclass
from typing import Any

import harness
from harness import (
    BadInput,
    Contract,
    Control,
    Fault,
    Request,
    Run,
    RunData,
    Verdict,
    check_idempotent_response,
    check_saga,
    check_vacuity,
    scaled,
    seeded_kills,
)


@dataclass(frozen=True)
class Params(harness.Params):
    USERS: int = scaled(100)
    DUPLICATE: float = 0.2
    BROKEN_PROVIDER: float = 0.2
    # every provider call fails its first FLAKY attempts (retries stay within the bound)
    FLAKY: int = 2
    CATALOG: tuple[str, ...] = ("netflix", "hulu", "prime", "disney")


class SubscriptionsContract(Contract):
    """What the scenario asks of the subscription service, in the bundled
    SubscriptionService's API: add({"user", "subscriptions", "amount"}) pays, then subscribes
    to each; a failed saga is a terminal error. For another API, subclass and override
    (`--adapter subscriptions=mypkg.chaos:MySubscriptions`). The service must call the world
    with the business key "<user>:<step>": `charge` / `refund` for the step "pay", `reserve`
    / `cancel` for each subscription, in the order given."""

    ASSUMPTIONS = {
        "provider_failure": "how a provider that fails for good fails: 'retryable' (503 "
        "on every attempt: the service must bound its retries, then compensate) or "
        "'terminal' (402 declined, which the service should not retry)",
    }
    provider_failure = "retryable"  # the bundled service bounds its retries (4 attempts)

    def add(self, user: str, subscriptions: list[str], amount: int, idem: str) -> Request:
        """Pay `amount` for `user`, then subscribe to each of `subscriptions`."""
        body = {"user": user, "subscriptions": subscriptions, "amount": amount}
        return Request("SubscriptionService", "add", idem=idem, body=body)

    def failed(self, answer: Any) -> bool:
        """Modelling choice: does an acknowledged answer say the saga failed? The bundled
        API answers a failure with a terminal error, never with an answer."""
        return False

    def check_answer(self, action: str, answer: Any) -> None:
        self.failed(answer)


# the scenario's services: name (as in --app NAME=...) -> the bundled implementation
SERVICES = {
    "subscriptions": "harness.bundled.services.subscription_saga:app",
}
# how the scenario talks to each service (--adapter NAME=module:Class overrides)
CONTRACTS = {"subscriptions": SubscriptionsContract}

# negative controls: broken variants this scenario must flag (the verdict ids named)
CONTROLS = [
    Control(
        "subscriptions",
        "harness.bundled.services.broken.subscription_saga_no_undo:app",
        ("saga",),
        "terminal error propagates without compensating",
    ),
    Control(
        "subscriptions",
        "harness.bundled.services.broken.subscription_saga_small_budget:app",
        ("saga",),  # and vacuity when more than half the requests failed: most seeds
        "retry budget below the provider's transient failures: most requests fail",
    ),
    Control(
        "subscriptions",
        "harness.bundled.services.broken.subscription_saga_partial_refund:app",
        ("saga",),
        "the refund leaves out the fee the charge took",
    ),
]


def workload(
    rng: random.Random, api: SubscriptionsContract, p: Params
) -> tuple[list[Request], dict[str, tuple[list[str], int | None]]]:
    """The requests, and per user its saga steps and the index of the step that fails."""
    requests, plan = [], {}
    for i in range(p.USERS):
        user, subs = f"u{i}", rng.sample(p.CATALOG, rng.randint(1, 3))
        fails = rng.randrange(len(subs)) + 1 if rng.random() < p.BROKEN_PROVIDER else None
        plan[user] = (["pay", *subs], fails)
        req = api.add(user, subs, rng.randint(5, 20), idem=user).as_action("add", user)
        requests.append(req)
        if rng.random() < p.DUPLICATE:
            requests.append(req)
    return requests, plan


async def test_retries_and_saga(chaos: Run) -> None:
    p = chaos.params
    api = chaos.contract("subscriptions")
    world = await chaos.start()  # the world, the server, SERVICES

    if api.provider_failure not in ("retryable", "terminal"):
        raise BadInput(
            f"provider_failure must be retryable or terminal, not {api.provider_failure!r}"
        )
    requests, plan = workload(chaos.rng, api, p)
    chaos.manifest["saga_plan"] = plan
    await world.set_knob("reserve", fail_attempts=p.FLAKY)
    await world.set_knob("charge", fail_attempts=1)
    for user, (steps, k) in plan.items():
        if k is not None:
            terminal = api.provider_failure == "terminal"
            await world.set_knob(
                "reserve", f"{user}:{steps[k]}", error_rate=0.0 if terminal else 1.0,
                decline=terminal,
            )  # fmt: skip
    faults = seeded_kills(
        chaos.fault_rng, len(requests), ["subscriptions", "server"], window=(0.1, 0.8)
    )
    faults += [
        Fault(
            "kill",
            "subscriptions",
            downtime=0.3,
            on_event={"op": ["cancel", "refund"], "outcome": "applied"},
        )
        for _ in range(2)
    ]
    await chaos.drive(requests, faults, retry_for=30)

    await chaos.verify(checks, timeout=30)


def checks(run: RunData) -> list[Verdict]:
    p = Params.of(run)
    api = run.contract("subscriptions", SubscriptionsContract)
    records = run.actions(failed={"add": api.failed})  # in the scenario's words
    plan = {u: (steps, k) for u, (steps, k) in run.manifest["saga_plan"].items()}
    return [
        check_saga(records, run.ledger, plan, handler="add").resting_on(
            run.assumed("subscriptions", "provider_failure")
        ),
        check_idempotent_response(records, "add"),
        check_vacuity(records, min_ok=p.USERS // 2, min_faults=3),
    ]
