"""How each family of fault kinds acts, one module each, by what the kind acts on
(harness/nemesis/kinds.py `acts_on`). An injector gets the nemesis (its records, its aim,
its per-target bookkeeping) and the fault as it fires (`Shot`), makes the fault, records
fault-start and fault-end, and undoes it. A new kind of a family is an entry in kinds.py
(and a branch here where it acts differently); a new family is a module and a line below."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from harness.nemesis.injectors import delivery, deployment, invocation, link, process

if TYPE_CHECKING:
    from harness.nemesis.nemesis import Nemesis, Shot

Injector = Callable[["Nemesis", "Shot"], Awaitable[None]]
INJECTORS: dict[str, Injector] = {
    "process": process.inject,
    "link": link.inject,
    "deployment": deployment.inject,
    "delivery": delivery.inject,
    "invocation": invocation.inject,
}
