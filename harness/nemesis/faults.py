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
    """kill -9 of `target` (a service name or "server"), restarted after `downtime`."""
    return Fault("kill", target, **trigger)


def stop(target: str, **trigger: Any) -> Fault:
    """A graceful stop (SIGTERM, then SIGKILL), restarted after `downtime`."""
    return Fault("stop", target, **trigger)


def pause(target: str, **trigger: Any) -> Fault:
    """SIGSTOP of `target`, SIGCONT after `downtime`."""
    return Fault("pause", target, **trigger)


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


def spread_keys(requests: list[Any], n: int, exclude: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """n object keys whose first request comes at evenly spread points of the workload
    (about 20% .. 80%), so that faults aimed at them do not queue behind each other."""
    first: dict[str, int] = {}
    for i, r in enumerate(requests):  # the scenario's subject where tagged, else the key
        first.setdefault(r.meta.get("subject", r.key), i)
    candidates = sorted((i, k) for k, i in first.items() if k not in exclude)
    picked: list[str] = []
    for j in range(n):
        target = len(requests) * (0.2 + 0.6 * j / max(1, n - 1))
        _, key = min(
            (c for c in candidates if c[1] not in picked), key=lambda c: abs(c[0] - target)
        )
        picked.append(key)
    return picked


def effect_window_plan(
    target: str, op: str, victims: list[str], downtime: float = 0.3
) -> list[Fault]:
    """Kill `target` right after the world applies `op` for each victim key: the window
    between a side effect and its journal entry, when the victims' answers are held back
    by a latency knob (`Run.effect_window` sets both)."""
    return [
        Fault(
            "kill", target, downtime=downtime, on_event={"op": op, "outcome": "applied", "key": v}
        )
        for v in victims
    ]


def seeded_plan(
    rng: random.Random,
    requests: int,
    faults: list[tuple[str, str]],
    downtime: float = 0.3,
    window: tuple[float, float] = (0.2, 0.8),
) -> list[Fault]:
    """Exactly the listed (kind, target) faults, each after a seeded number of finished
    requests within `window` of the workload: the seed moves them, never drops one, so a
    negative control that needs its service killed gets it on every seed."""
    lo, hi = int(requests * window[0]), int(requests * window[1])
    return [
        Fault(kind, target, after_ops=rng.randrange(lo, hi), downtime=downtime)  # type: ignore[arg-type]
        for kind, target in faults
    ]


def seeded_kills(
    rng: random.Random,
    requests: int,
    targets: tuple[str, ...] | list[str],
    downtime: float = 0.3,
    window: tuple[float, float] = (0.2, 0.8),
) -> list[Fault]:
    """One kill of each listed target (a name listed twice is killed twice)."""
    return seeded_plan(rng, requests, [("kill", t) for t in targets], downtime, window)


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
    """Arms every fault of the plan at once; executes them one at a time.

    Each fault waits for its own trigger, so a trigger that comes early (parallel requests
    reorder) is not missed behind an earlier fault. One follower reads the world's events and
    hands each event to at most one waiting fault, the first in plan order that it matches.
    Execution is serialized: two faults never overlap, so every fault is undone (restart /
    resume) before the next begins.
    """

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
        if events is None and any(f.on_event for f in plan):
            raise ValueError("event-triggered faults need the world: start_world() first")
        self.plan = plan
        self.targets = targets
        self.history = history
        self.events = events
        self.faults_path = faults_path
        self.workload_done = asyncio.Event()  # set by the caller: no trigger fires after it
        # event-triggered faults waiting: plan index -> future resolved with the event
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._one_at_a_time = asyncio.Lock()
        self.injected = 0  # faults started so far (live progress)

    def record(self, type_: str, **fields: Any) -> None:
        rec = self.history.append(type_, **fields)
        with open(self.faults_path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    async def _follow_events(self) -> None:
        assert self.events is not None
        cursor = 0
        while True:
            for event in await self.events.events(cursor, wait=5.0):
                cursor = event["seq"]
                for i, fut in sorted(self._waiting.items()):
                    on_event = self.plan[i].on_event
                    if not fut.done() and on_event is not None and matches(event, on_event):
                        fut.set_result(event)
                        break

    async def _trigger(
        self, i: int, fault: Fault, progress: Progress, t0: float
    ) -> dict[str, Any] | None:
        """Wait for the fault's trigger; returns the world event for an event trigger."""
        if fault.after_ops is not None:
            await progress.wait_done(fault.after_ops)
        elif fault.at is not None:
            await asyncio.sleep(max(0.0, t0 + fault.at - self.history.now()))
        else:
            return await self._waiting[i]
        return None

    async def _one(self, i: int, fault: Fault, progress: Progress, t0: float) -> None:
        trigger = asyncio.ensure_future(self._trigger(i, fault, progress, t0))
        done = asyncio.ensure_future(self.workload_done.wait())
        await asyncio.wait({trigger, done}, return_when=asyncio.FIRST_COMPLETED)
        done.cancel()
        if not trigger.done() or trigger.cancelled():
            trigger.cancel()
            self.record("fault-skipped", fault=i, kind=fault.kind, target=fault.target)
            return
        event = trigger.result()
        async with self._one_at_a_time:
            await self._execute(i, fault, progress, event)

    async def _execute(
        self, i: int, fault: Fault, progress: Progress, event: dict[str, Any] | None
    ) -> None:
        target = self.targets[fault.target]
        evidence = {}
        if event is not None:  # which world event fired it, and how long ago
            evidence = {
                "world_seq": event["seq"],
                "world_key": event.get("key"),
                "event_lag_ms": round((time.time() - event["wall"]) * 1000, 1)
                if "wall" in event
                else None,
            }
        self.record(
            "fault-start",
            fault=i,
            kind=fault.kind,
            target=fault.target,
            in_flight=progress.in_flight,
            **evidence,
        )
        self.injected += 1

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
        self.record(
            "fault-end", fault=i, kind=fault.kind, target=fault.target, ready_after=round(ready, 3)
        )

    async def run(self, progress: Progress) -> None:
        """Execute the plan; a fault whose trigger had not fired when the workload ended is
        recorded as `fault-skipped`. A fault under way is always completed (undone)."""
        t0 = self.history.now()
        loop = asyncio.get_running_loop()
        self._waiting = {i: loop.create_future() for i, f in enumerate(self.plan) if f.on_event}
        follower = asyncio.create_task(self._follow_events()) if self._waiting else None
        try:
            await asyncio.gather(*(self._one(i, f, progress, t0) for i, f in enumerate(self.plan)))
        finally:
            if follower is not None:
                follower.cancel()
