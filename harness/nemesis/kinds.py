"""The fault kinds, declared once: what each acts on, its arguments and their defaults,
whether it is undone and when it counts as landed, its words and its chart style. The plan's
checks, the nemesis, the report's charts, shrink and the docs' table (docs/hooks.py) read
these; the nemesis injects each by what it acts on, through that family's injector
(harness/nemesis/injectors/: signals for a process, the proxy for a link, the Upgrader for
a deployment, the world for its webhook deliveries). Pure data: imported by checkers and the
report too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ActsOn = Literal["process", "link", "deployment", "delivery", "invocation"]


@dataclass(frozen=True)
class FaultKind:
    name: str
    # a process (the server or a service), the path to a service, a deployment, the
    # world's webhook deliveries (target "world"), or one invocation of a service in flight
    # (an operator's action through the Admin API)
    acts_on: ActsOn
    words: str  # the fault in words, "{}" the target: "kill -9 of {}"
    summary: str  # what it does and what it probes, for the docs' table
    args: dict[str, Any] = field(default_factory=dict)  # its arguments and their defaults
    instant: bool = False  # nothing to undo: no downtime
    cut: bool = False  # landed only if an invocation attempt was in flight on its link
    hatch: str | None = None  # how the charts draw it (None: a plain band)


# a delivery fault's arguments: how late; how long it waits for a delivery to act on; and
# the business key whose deliveries it waits for (None: the next that fits)
DELIVERY_ARGS = {"delay_s": 3.0, "within_s": 5.0, "key": None}
# an operator action's arguments: the handler and the object key of the invocation it
# aims at (None: any of the service's)
OPERATOR_ARGS = {"handler": None, "key": None}


REGISTRY: tuple[FaultKind, ...] = (
    FaultKind(
        "kill",
        "process",
        "kill -9 of {}",
        "kill -9 of the process group, restarted on the same port and data after `downtime`",
    ),
    FaultKind(
        "stop",
        "process",
        "stop of {}",
        "SIGTERM, SIGKILL after a grace period, restarted: a graceful restart",
    ),
    FaultKind(
        "pause",
        "process",
        "pause of {}",
        "SIGSTOP, SIGCONT after `downtime`: a stalled process that keeps its connections",
    ),
    FaultKind(
        "latency",
        "link",
        "latency on the path to {}",
        "every chunk either way held `latency_ms` (+ up to `jitter_ms`), in order",
        args={"latency_ms": 200.0, "jitter_ms": 0.0},
        hatch="///",
    ),
    FaultKind(
        "blackhole",
        "link",
        "blackhole of the path to {}",
        "nothing passes either way, new connections wait; then the held bytes flow",
        hatch="///",
    ),
    FaultKind(
        "slow-close",
        "link",
        "slow close on the path to {}",
        "the service's side of each connection cut; the server learns of it `slow_close_ms` late",
        args={"slow_close_ms": 1000.0},
        cut=True,
        hatch="///",
    ),
    FaultKind(
        "reset",
        "link",
        "reset of the streams to {}",
        "the HTTP/2 streams (invocation attempts) in flight are reset",
        instant=True,
        cut=True,
        hatch="///",
    ),
    FaultKind(
        "reset-connections",
        "link",
        "reset of the connections to {}",
        "the connections in flight are reset",
        instant=True,
        cut=True,
        hatch="///",
    ),
    FaultKind(
        "fail-nth",
        "link",
        "reset of the Nth stream to {}",
        "the stream of the `nth` invocation attempt from now is reset",
        args={"nth": 1},
        instant=True,
        cut=True,
        hatch="///",
    ),
    FaultKind(
        "upgrade",
        "deployment",
        "upgrade of {} to a new version",
        "a new version registered while the old one's invocations are in flight: drained "
        "(`drain_s`: at most this long; None: until nothing is pinned) or, `in_place`, "
        "replaced on its own endpoint at once (`app`: the version, default the same)",
        args={"app": None, "drain_s": None, "in_place": False},
        hatch="xx",
    ),
    FaultKind(
        "duplicate-delivery",
        "delivery",
        "a webhook delivered twice by the {}",
        "the next webhook delivery the world plans is made twice: the copy, `delay_s` later, a "
        "request of its own (its own idempotency key: Restate does not merge them), as a "
        "provider resends an event; missed if no delivery was planned within `within_s` "
        "(of `key`, if given)",
        args={**DELIVERY_ARGS, "delay_s": 0.5},
        instant=True,
        hatch="..",
    ),
    FaultKind(
        "reorder-delivery",
        "delivery",
        "webhooks delivered out of order by the {}",
        "the next key with two or more planned deliveries gets its second one first, at the "
        "first one's time, and its first one `delay_s` after that (`key`: that key's); "
        "missed if none came within `within_s`",
        args=dict(DELIVERY_ARGS),
        instant=True,
        hatch="..",
    ),
    FaultKind(
        "late-delivery",
        "delivery",
        "a webhook delivered late by the {}",
        "the next webhook delivery the world plans (of `key`, if given) is made `delay_s` "
        "late; missed if none was planned within `within_s`",
        args=dict(DELIVERY_ARGS),
        instant=True,
        hatch="..",
    ),
    FaultKind(
        "cancel-invocation",
        "invocation",
        "cancel of an invocation of {}",
        "an operator cancels one invocation of the service in flight (the oldest started one "
        "of `handler` / `key`, if given): its handler must roll back what it did (a saga "
        "compensates); missed if none was in flight",
        args=dict(OPERATOR_ARGS),
        instant=True,
        hatch="\\\\",
    ),
)
BY_NAME: dict[str, FaultKind] = {k.name: k for k in REGISTRY}


def kind(name: str) -> FaultKind:
    """The declared kind `name`; a ValueError names the valid ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown fault kind {name!r}; choose one of {tuple(BY_NAME)}") from None


def markdown_table() -> str:
    """The docs' table of fault kinds (docs/reference/faults.md, by docs/hooks.py)."""
    rows = ["| kind | acts on | arguments (default) | what it does |", "| --- | --- | --- | --- |"]
    for k in REGISTRY:
        args = ", ".join(f"`{n}` ({v})" for n, v in k.args.items()) or "none"
        on = {"process": "a process", "link": "the path to a service", "deployment": "a "
              "service's deployment", "delivery": "the world's webhook deliveries "
              "(target `world`)", "invocation": "an invocation of a service, through the "
              "Admin API"}[k.acts_on]  # fmt: skip
        rows.append(f"| `{k.name}` | {on} | {args} | {k.summary} |")
    return "\n".join(rows)
