"""Fault plans: plain data built from the seed, executed against the topology.

A plan is a list of Fault records. Each fires on a trigger (N requests finished, or T
seconds into the chaos phase), acts on one target (a service name or "server"), and is
undone after `downtime` seconds. What really happened is recorded as fault-start /
fault-end events in the history and in faults.jsonl, so a run can be read (and replayed)
from its recorded timeline as well as from its seed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from harness.workload.history import History

Kind = Literal["kill", "stop", "pause"]
KINDS: tuple[str, ...] = ("kill", "stop", "pause")


@dataclass(frozen=True)
class Fault:
    kind: Kind
    target: str
    after_ops: int | None = None  # trigger: this many requests finished ...
    at: float | None = None  # ... or this many seconds into the chaos phase ...
    # ... or the world recorded a call whose fields match, e.g. {"op": "charge",
    # "outcome": "applied", "key": ["p1", "p7"]} (a list matches any of its values)
    on_event: dict[str, Any] | None = None
    downtime: float = 0.5  # seconds before the fault is undone (restart / resume)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose one of {KINDS}")
        if sum(t is not None for t in (self.after_ops, self.at, self.on_event)) != 1:
            raise ValueError(
                "a fault needs exactly one trigger: after_ops=N, at=SECONDS or on_event={...}"
            )
        if self.downtime < 0:
            raise ValueError(f"downtime must be >= 0, got {self.downtime}")


def kill(target: str, **trigger: Any) -> Fault:
    return Fault("kill", target, **trigger)


def matches(event: dict[str, Any], predicate: dict[str, Any]) -> bool:
    return all(
        event.get(k) in v if isinstance(v, list) else event.get(k) == v
        for k, v in predicate.items()
    )


def plan_digest(plan: list[Fault]) -> str:
    blob = json.dumps([asdict(f) for f in plan], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def random_plan(
    rng: random.Random,
    targets: list[str],
    requests: int,
    count: int,
    kinds: tuple[str, ...] = ("kill",),
    downtime: tuple[float, float] = (0.2, 1.0),
    window: tuple[float, float] = (0.1, 0.8),
) -> list[Fault]:
    """`count` faults at seeded points of the workload (fractions `window` of `requests`)."""
    points = sorted(
        rng.randint(int(requests * window[0]), int(requests * window[1])) for _ in range(count)
    )
    return [
        Fault(
            rng.choice(kinds),
            rng.choice(targets),
            after_ops=p,  # type: ignore[arg-type]
            downtime=round(rng.uniform(*downtime), 3),
        )
        for p in points
    ]


def effect_window_plan(
    rng: random.Random,
    requests: list[Any],
    target: str,
    op: str,
    victims: list[str],
    seeded_targets: tuple[str, ...] = (),
    downtime: float = 0.3,
) -> list[Fault]:
    """Kill `target` right after the world applies `op` for each victim key (the window
    between a side effect and its journal entry: hold the victims' answers back with a
    latency knob), plus one kill of each of `seeded_targets` at a seeded point; all in the
    order the workload will reach them."""
    first = {r.key: i for i, r in reversed(list(enumerate(requests)))}
    timed = [
        (
            first[v],
            Fault(
                "kill",
                target,
                downtime=downtime,
                on_event={"op": op, "outcome": "applied", "key": v},
            ),
        )
        for v in victims
    ]
    for name in seeded_targets:
        at = rng.randrange(len(requests) // 5, len(requests) * 4 // 5)
        timed.append((at, Fault("kill", name, after_ops=at, downtime=downtime)))
    return [f for _, f in sorted(timed, key=lambda x: x[0])]


class Target(Protocol):
    name: str

    async def kill(self) -> None: ...
    async def stop(self, grace: float = ...) -> bool: ...
    async def start(self, timeout: float = ...) -> float: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


class Progress(Protocol):
    async def wait_done(self, n: int) -> None: ...

    @property
    def in_flight(self) -> int: ...


class Events(Protocol):
    async def events(self, after: int, wait: float = ...) -> list[dict[str, Any]]: ...


class Nemesis:
    """Executes a plan, one fault at a time, in plan order."""

    def __init__(
        self,
        plan: list[Fault],
        targets: dict[str, Target],
        history: History,
        faults_path: Path,
        events: Events | None = None,
    ):
        unknown = {f.target for f in plan} - set(targets)
        if unknown:
            raise ValueError(
                f"fault plan names unknown target(s) {sorted(unknown)}; known: {sorted(targets)}"
            )
        self.plan = plan
        self.targets = targets
        self.history = history
        if events is None and any(f.on_event for f in plan):
            raise ValueError("event-triggered faults need the world: start_world() first")
        self.events = events
        self._cursor = 0  # world events up to this seq have been seen
        self._matched: dict[str, Any] | None = None  # the event that fired the last fault
        self.faults_path = faults_path
        self.workload_done = asyncio.Event()  # set by the caller: no trigger fires after it

    def _record(self, type_: str, **fields: Any) -> None:
        rec = self.history.append(type_, **fields)
        with open(self.faults_path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    async def _trigger(self, fault: Fault, progress: Progress, t0: float) -> None:
        if fault.after_ops is not None:
            await progress.wait_done(fault.after_ops)
        elif fault.at is not None:
            await asyncio.sleep(max(0.0, t0 + fault.at - self.history.now()))
        else:
            assert fault.on_event is not None and self.events is not None
            while True:
                for event in await self.events.events(self._cursor, wait=5.0):
                    self._cursor = event["seq"]
                    if matches(event, fault.on_event):
                        self._matched = event
                        return

    async def _triggered(self, fault: Fault, progress: Progress, t0: float) -> bool:
        """Wait for the fault's trigger; False when the workload ended first."""
        trigger = asyncio.ensure_future(self._trigger(fault, progress, t0))
        done = asyncio.ensure_future(self.workload_done.wait())
        await asyncio.wait({trigger, done}, return_when=asyncio.FIRST_COMPLETED)
        for task in (trigger, done):
            task.cancel()
        return trigger.done() and not trigger.cancelled()

    def _trigger_evidence(self, fault: Fault) -> dict[str, Any]:
        """For an event-triggered fault: which world event fired it, and how long after."""
        if fault.on_event is None or self._matched is None:
            return {}
        event = self._matched
        lag = round((time.time() - event["wall"]) * 1000, 1) if "wall" in event else None
        return {"world_seq": event["seq"], "world_key": event.get("key"), "event_lag_ms": lag}

    async def run(self, progress: Progress) -> None:
        """Execute the plan; a fault whose trigger had not fired when the workload ended is
        recorded as `fault-skipped`. A fault under way is always completed (undone)."""
        t0 = self.history.now()
        for i, fault in enumerate(self.plan):
            if not await self._triggered(fault, progress, t0):
                self._record("fault-skipped", fault=i, kind=fault.kind, target=fault.target)
                continue
            target = self.targets[fault.target]
            self._record(
                "fault-start",
                fault=i,
                kind=fault.kind,
                target=fault.target,
                in_flight=progress.in_flight,
                **self._trigger_evidence(fault),
            )
            if fault.kind == "kill":
                await target.kill()
            elif fault.kind == "stop":
                await target.stop()
            else:
                target.pause()
            await asyncio.sleep(fault.downtime)
            if fault.kind == "pause":
                target.resume()
                ready = 0.0
            else:
                ready = await target.start()
            self._record(
                "fault-end",
                fault=i,
                kind=fault.kind,
                target=fault.target,
                ready_after=round(ready, 3),
            )
