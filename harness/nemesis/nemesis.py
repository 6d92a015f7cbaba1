"""The nemesis: executes a fault plan against the run's topology while the workload runs.

It keeps the triggers (after N finished requests, at a time, on a world event) and the
per-target bookkeeping (one fault at a time per target, what is in force, where each
fault landed); how each family of kinds acts lives in harness/nemesis/injectors/. What
really happened is recorded as fault-start / fault-end / fault-skipped events in the
history and in faults.jsonl.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import psutil

from harness.nemesis.faults import CUTS, DELIVERY_KINDS, NETWORK_KINDS, Fault, matches
from harness.nemesis.injectors import INJECTORS
from harness.nemesis.injectors.invocation import Operator
from harness.nemesis.kinds import kind
from harness.workload.history import History, encode_line


class Target(Protocol):
    name: str
    last_start: dict[str, float]

    async def kill(self) -> None: ...
    def running(self) -> bool: ...
    async def stop(self, grace: float = ...) -> bool: ...
    async def start(self, timeout: float = ...) -> float: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...


def connected_from(target: Target, port: int) -> bool:
    """Whether one of `target`'s processes (its process and their children) has an open
    TCP connection from local `port`."""
    proc = getattr(target, "proc", None)
    if proc is None:
        return False
    try:
        root = psutil.Process(proc.pid)
        for p in [root, *root.children(recursive=True)]:
            if any(c.laddr and c.laddr.port == port for c in p.net_connections("tcp")):
                return True
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass
    return False


class LinkTarget(Protocol):
    """The path from the server to one service (harness/network/link.py)."""

    name: str

    async def set(self, **conditions: Any) -> dict[str, Any]: ...
    async def reset(self, scope: str = ...) -> dict[str, Any]: ...
    async def fail_nth(self, nth: int | None) -> dict[str, Any]: ...
    async def stats(self) -> dict[str, Any]: ...


# Upgrader.upgrade: (service, args, the workload's end) -> (what happened, the new version's
# process, its link); what happened says `missed` when no work came to aim at
Upgrade = Callable[[str, dict[str, Any], asyncio.Event], Awaitable[tuple[dict[str, Any], Any, Any]]]


class Progress(Protocol):
    async def wait_done(self, n: int) -> None: ...

    @property
    def in_flight(self) -> int: ...

    @property
    def done(self) -> int: ...


class Events(Protocol):
    """The world, as the nemesis uses it: its events, and its webhook deliveries."""

    async def events(self, after: int, wait: float = ...) -> list[dict[str, Any]]: ...
    async def arm_delivery(self, fault: int, kind: str, args: dict[str, Any]) -> None: ...
    async def delivery_fault(self, fault: int, disarm: bool = ...) -> dict[str, Any] | None: ...


class Shot(NamedTuple):
    """One fault as it fires: its place in the plan, the fault, the workload's progress,
    the world event that fired it (None: a count or a time), and how long it waited behind
    another fault on its target (ms)."""

    i: int
    fault: Fault
    progress: Progress
    event: dict[str, Any] | None
    queued: float


# Restate invocation states that are work under way: everything but paused (retries
# exhausted) and done; a delayed message waiting to fire (scheduled) is the work a timer
# scenario's faults aim at
IN_FLIGHT_STATES = ("scheduled", "pending", "ready", "running", "suspended", "backing-off")
SAMPLE_EVERY = 0.2  # seconds between samples of Restate's unfinished invocations
MAX_POSITIONS = 64  # a fault-start records where at most this many invocations stood


class Nemesis:
    """Arms every fault of the plan at once and executes each when its trigger fires.

    Each fault waits for its own trigger, so a trigger that comes early (parallel requests
    reorder) is not missed behind an earlier fault. One follower reads the world's events and
    hands each event to at most one waiting fault, the first in plan order that it matches.
    Faults on one target run one at a time (each is undone before the next on that target
    begins); faults on different targets overlap, so an event-triggered kill fires when its
    event comes, not when an unrelated fault ends. A fault-start records the faults already
    in force (`overlaps`) and whether the fault landed where it was aimed (`landed`): within
    its window after its event, or while work was in flight (client requests waiting, or
    invocations Restate had under way, sampled every SAMPLE_EVERY s by `restate`).
    """

    def __init__(
        self,
        plan: list[Fault],
        targets: dict[str, Target],
        history: History,
        faults_path: Path,
        events: Events | None = None,
        restate: Callable[[], Awaitable[list[dict[str, Any]] | None]] | None = None,
        links: dict[str, LinkTarget] | None = None,
        roles: dict[str, str] | None = None,
        upgrade: Upgrade | None = None,
        serves_without: Callable[[str], Awaitable[bool]] | None = None,
        operator: Operator | None = None,
    ):
        self.links = links or {}
        # a cluster: whether it serves every partition without the node given (failover)
        self.serves_without = serves_without
        self.upgrade = upgrade
        self.operator = operator  # the Admin API, for the operator actions on invocations
        # target -> role ("node" for a cluster's nodes): targets of one role take their
        # faults one at a time (a cluster survives one node down), and the role is recorded
        self.roles = roles or {}
        # world events up to this sequence number came before the chaos phase (the
        # preflight's probes): no fault fires on them
        self.events_after = 0
        unknown = {
            f.target for f in plan if f.kind not in NETWORK_KINDS and f.kind not in DELIVERY_KINDS
        } - set(targets)
        unknown |= {f.target for f in plan if f.kind in NETWORK_KINDS} - set(self.links)
        if unknown:
            raise ValueError(
                f"fault plan names unknown target(s) {sorted(unknown)}; known: "
                f"{sorted(targets)} (processes), {sorted(self.links)} (network paths)"
            )
        if events is None and any(f.on_event or f.kind in DELIVERY_KINDS for f in plan):
            raise ValueError(
                "event-triggered and delivery faults need the world: start_world() first"
            )
        self.plan = plan
        self.targets = targets
        self.history = history
        self.events = events
        self.restate = restate  # the run's unfinished invocations, where each stands
        self.faults_path = faults_path
        self.workload_done = asyncio.Event()  # set by the caller: no trigger fires after it
        # event-triggered faults waiting: plan index -> future resolved with the event
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._per_target: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.in_force: set[int] = set()
        # (monotonic, the run's unfinished invocations: id, target, status, journal size)
        self._sample: tuple[float, list[dict[str, Any]]] | None = None
        self.injected = 0  # faults started so far (live progress)
        # an upgraded service: its versions' processes, oldest first (an old one serves
        # what is pinned to it until drained); its faults say which version they struck
        self.versions: dict[str, list[tuple[int, Target]]] = {}

    def record(self, type_: str, **fields: Any) -> None:
        rec = self.history.append(type_, **fields)
        self.history.flush()  # a fault is never among the lines a crash loses
        with open(self.faults_path, "ab") as f:
            f.write(encode_line(rec))

    async def _follow_events(self) -> None:
        assert self.events is not None
        cursor = self.events_after
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

    async def _sample_restate(self) -> None:
        assert self.restate is not None
        while not self.workload_done.is_set():  # and cancelled: this ends it either way
            rows = await self.restate()  # None while the server is down
            if rows is not None:
                self._sample = (time.monotonic(), rows)
            await asyncio.sleep(SAMPLE_EVERY)

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
        acts_on = kind(fault.kind).acts_on
        inject = INJECTORS[acts_on]
        if acts_on == "delivery":  # the world carries them out, each when its delivery comes
            await inject(self, Shot(i, fault, progress, event, 0.0))
            return
        # a process, its network path and its invocations are different targets: their
        # faults may overlap
        layer = {"link": "net:", "invocation": "op:"}.get(acts_on, "")
        target = self.roles.get(fault.target, fault.target)
        fired, lock = time.monotonic(), self._per_target[layer + target]
        behind = lock.locked()  # another fault on the same target is in force
        async with lock:
            queued = (time.monotonic() - fired) * 1000 if behind else 0.0
            await inject(self, Shot(i, fault, progress, event, queued))

    def aim(
        self,
        fault: Fault,
        progress: Progress,
        event: dict[str, Any] | None,
        queued: float,
        link: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Where the fault landed, measured at the moment it acts (`link`: the proxy's
        counts on the fault's path just before it acted, for a network fault)."""
        # requests finished when it acted: where --replay puts it (harness/nemesis/faults.py)
        out: dict[str, Any] = {"in_flight": progress.in_flight, "ops_done": progress.done}
        if link is not None:  # invocation attempts (HTTP/2 streams) on the path
            out["link_in_flight"] = link["in_flight"]
        if self._sample is not None:
            at, rows = self._sample
            busy = [r for r in rows if r.get("status") in IN_FLIGHT_STATES]
            out["restate_in_flight"] = len(busy)
            out["restate_sample_age_ms"] = round((time.monotonic() - at) * 1000, 1)
            # where each stood: after how many journal entries of which handler (the unit of
            # fault coverage), from the same sample (its age above)
            out["positions"] = sorted(
                [r.get("target"), r.get("journal_size") or 0, r.get("id")]
                for r in busy[:MAX_POSITIONS]
            )
        if queued:  # ms behind another fault on the same target (any other lag: event_lag_ms)
            out["waited_ms"] = round(queued, 1)
        if self.in_force:
            out["overlaps"] = sorted(self.in_force)
        if link is not None and fault.kind in CUTS and link["in_flight"] == 0:
            # a cut of nothing did nothing, whenever it came (also inside its window)
            out.update(landed=False, missed="no invocation attempt was in flight on the path")
        elif event is None:
            out["landed"] = (
                out["in_flight"] > 0
                or out.get("restate_in_flight", 0) > 0
                or out.get("link_in_flight", 0) > 0
            )
            if not out["landed"]:
                out["missed"] = "no request or invocation was in flight"
        if event is None:
            return out
        lag = (time.time() - event["wall"]) * 1000 if "wall" in event else None
        out.update(
            world_seq=event["seq"],
            world_key=event.get("key"),
            event_lag_ms=None if lag is None else round(lag, 1),
        )
        if "missed" in out:  # a cut that found nothing
            return out
        if fault.window_ms is not None:
            out["window_ms"] = fault.window_ms
            out["landed"] = lag is not None and lag <= fault.window_ms
            if not out["landed"]:
                out["missed"] = (
                    f"acted {out['event_lag_ms']} ms after its event, outside its "
                    f"{fault.window_ms:g} ms window"
                    + (
                        f" (waited {out['waited_ms']} ms for a fault on the same target)"
                        if "waited_ms" in out
                        else ""
                    )
                )
        else:
            out["landed"] = True  # fired by the event it was aimed at
        return out

    def struck(self, fault: Fault, event: dict[str, Any] | None) -> tuple[Target, dict[str, Any]]:
        """The process a fault on `fault.target` strikes, and what to record of it: after
        an upgrade, the version; a fault aimed at a world event, while an old version
        still runs, strikes the process that made the call (the caller's port the world
        saw, among the versions' open connections), not the newest."""
        versions = [(v, t) for v, t in self.versions.get(fault.target, []) if t.running()]
        if not versions:
            return self.targets[fault.target], {}
        version, target = versions[-1]
        peer = (event or {}).get("peer")
        if peer and len(versions) > 1:
            caller = next((vt for vt in versions if connected_from(vt[1], peer)), None)
            if caller is not None:
                version, target = caller
                return target, {"version": version, "struck": f"the caller (port {peer})"}
        return target, {"version": version}

    async def run(self, progress: Progress) -> None:
        """Execute the plan; a fault whose trigger had not fired when the workload ended is
        recorded as `fault-skipped`. A fault under way is always completed (undone)."""
        t0 = self.history.now()
        loop = asyncio.get_running_loop()
        self._waiting = {i: loop.create_future() for i, f in enumerate(self.plan) if f.on_event}
        helpers = []
        if self._waiting:
            helpers.append(asyncio.create_task(self._follow_events()))
        if self.restate is not None and self.plan:
            helpers.append(asyncio.create_task(self._sample_restate()))
        try:
            await asyncio.gather(*(self._one(i, f, progress, t0) for i, f in enumerate(self.plan)))
        finally:
            for h in helpers:
                h.cancel()
