"""Fault plans: plain data built from the seed, executed against the topology.

A plan is a list of Fault records. Each fires on a trigger (N requests finished, T seconds
into the chaos phase, or a world event), acts on one target (a service name or "server"),
and is undone after `downtime` seconds. Process kinds signal the target's processes;
network kinds act on the path from the server to a service, through the run's proxy
(harness/network/proxy.py). What really happened is recorded as fault-start /
fault-end events in the history and in faults.jsonl, so a run can be read (and replayed)
from its recorded timeline as well as from its seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import psutil

from harness.nemesis.kinds import BY_NAME, REGISTRY, kind
from harness.workload.history import History, encode_line

# views of the declared kinds (harness/nemesis/kinds.py)
KINDS: tuple[str, ...] = tuple(BY_NAME)
PROCESS_KINDS: tuple[str, ...] = tuple(k.name for k in REGISTRY if k.acts_on == "process")
# network kinds and the arguments each takes, with their defaults
NETWORK_KINDS: dict[str, dict[str, Any]] = {k.name: k.args for k in REGISTRY if k.acts_on == "link"}
UPGRADE_ARGS: dict[str, Any] = BY_NAME["upgrade"].args
DELIVERY_KINDS = tuple(k.name for k in REGISTRY if k.acts_on == "delivery")
WORLD = "world"  # the target of a delivery fault
INSTANT = tuple(k.name for k in REGISTRY if k.instant)  # no downtime: nothing to undo
CUTS = tuple(k.name for k in REGISTRY if k.cut)  # landed only if an attempt was in flight


@dataclass(frozen=True)
class Fault:
    kind: str  # a declared kind (harness/nemesis/kinds.py): checked below
    target: str
    after_ops: int | None = None  # trigger: this many requests finished ...
    at: float | None = None  # ... or this many seconds into the chaos phase ...
    # ... or the world recorded a call whose fields match, e.g. {"op": "charge",
    # "outcome": "applied", "key": ["p1", "p7"]} (a list matches any of its values)
    on_event: dict[str, Any] | None = None
    downtime: float = 0.5  # seconds before the fault is undone (restart / resume)
    # an event-triggered fault lands only if it acts within this many ms of its event (the
    # held-back answer's latency: after that the effect may be journaled); None: no window
    window_ms: float | None = None
    # a network kind's arguments (NETWORK_KINDS), e.g. {"latency_ms": 500, "jitter_ms": 100}
    args: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        declared = kind(self.kind)  # a ValueError names the valid kinds
        allowed = declared.args
        extra = sorted(set(self.args or {}) - set(allowed))
        if extra:
            raise ValueError(
                f"{self.kind} takes no argument {', '.join(extra)}; "
                f"its arguments: {', '.join(allowed) or 'none'}"
            )
        if (declared.acts_on == "delivery") != (self.target == WORLD):
            raise ValueError(
                f"{self.kind} acts on the world's webhook deliveries: its target is {WORLD!r}"
                if declared.acts_on == "delivery"
                else f"{self.kind} does not act on the world: only "
                f"{', '.join(DELIVERY_KINDS)} take the target {WORLD!r}"
            )
        if declared.acts_on != "process" and self.target == "server":
            raise ValueError(
                f"{self.kind} acts on a service (the path from the server to it, or its "
                "deployment): its target is a service name, not the server"
            )
        if sum(t is not None for t in (self.after_ops, self.at, self.on_event)) != 1:
            raise ValueError(
                "a fault needs exactly one trigger: after_ops=N, at=SECONDS or on_event={...}"
            )
        if self.downtime < 0:
            raise ValueError(f"downtime must be >= 0, got {self.downtime}")
        if self.window_ms is not None and self.on_event is None:
            raise ValueError("window_ms is for event-triggered faults (on_event={...})")


def kill(target: str, **trigger: Any) -> Fault:
    """kill -9 of `target` (a service name or "server"), restarted after `downtime`."""
    return Fault("kill", target, **trigger)


def stop(target: str, **trigger: Any) -> Fault:
    """A graceful stop (SIGTERM, then SIGKILL), restarted after `downtime`."""
    return Fault("stop", target, **trigger)


def pause(target: str, **trigger: Any) -> Fault:
    """SIGSTOP of `target`, SIGCONT after `downtime`."""
    return Fault("pause", target, **trigger)


def describe(kind: str, target: str) -> str:
    """A fault in words: "kill -9 of payments", "reset of the streams to payments"."""
    declared = BY_NAME.get(kind)
    return (declared.words if declared else kind + " of {}").format(target)


def conditions(fault: Fault) -> dict[str, Any]:
    """The network conditions a latency, blackhole or slow-close fault sets on its link."""
    if fault.kind == "blackhole":
        return {"blackhole": True}
    return {**NETWORK_KINDS[fault.kind], **(fault.args or {})}


def matches(event: dict[str, Any], predicate: dict[str, Any]) -> bool:
    return all(
        event.get(k) in v if isinstance(v, list) else event.get(k) == v
        for k, v in predicate.items()
    )


def load_plan(path: Path) -> list[Fault]:
    """An explicit fault plan (`--plan FILE`): a JSON list of faults, or a run's run.json
    (its recorded "plan"), so any stored run's plan can be run again as it was."""
    from harness.errors import BadInput

    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BadInput(f"--plan {path}: cannot read a JSON fault plan ({e})") from None
    faults = data.get("plan") if isinstance(data, dict) else data
    if not isinstance(faults, list):
        raise BadInput(
            f"--plan {path}: expected a JSON list of faults or a run.json with a plan, "
            'e.g. [{"kind": "kill", "target": "server", "after_ops": 100, "downtime": 0.3}]'
        )
    plan = []
    for i, f in enumerate(faults):
        try:
            plan.append(Fault(**f))
        except (TypeError, ValueError) as e:
            raise BadInput(
                f"--plan {path}: fault {i} ({json.dumps(f)}) is not valid: {e}"
            ) from None
    return plan


def replay_plan(run_dir: Path) -> list[Fault]:
    """A stored run's faults as they actually fired (`--replay RUN_DIR`): an event-fired
    fault on the very world event that fired it (the same op and key), any other at the
    number of finished requests when it acted (not where it was planned); planned faults
    that never fired are left out. Downtimes and windows as planned."""
    from harness.errors import BadInput

    try:
        planned = load_plan(run_dir / "run.json")
        starts = fired(run_dir)
    except OSError as e:
        raise BadInput(f"--replay {run_dir}: not a run folder with its faults ({e})") from None
    # a run of a subset counted its finished requests among those it sent; a run scales a
    # plan's counts by sent / generated, so the replay plan counts in generated terms
    per_sent = generated_per_sent(run_dir / "history.jsonl")
    out = []
    for r in starts:
        f = planned[r["fault"]]
        if f.on_event is not None and r.get("world_key") is not None:
            trigger: dict[str, Any] = {"on_event": {**f.on_event, "key": r["world_key"]}}
            trigger["window_ms"] = f.window_ms
        elif "ops_done" in r:  # in the generated workload's terms, as a plan's counts are
            trigger = {"after_ops": round(r["ops_done"] * per_sent)}
        else:  # recorded before ops_done existed: where it was planned
            trigger = {"after_ops": f.after_ops, "at": f.at, "on_event": f.on_event}
            trigger["window_ms"] = f.window_ms
        out.append(Fault(f.kind, f.target, downtime=f.downtime, args=f.args, **trigger))
    return out


def fired(run_dir: Path) -> list[dict[str, Any]]:
    """A run's fault-start records, in the order the faults acted (`replay_plan`'s order)."""
    lines = (run_dir / "faults.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r.get("type") == "fault-start"]


def generated_per_sent(history: Path) -> float:
    """Requests generated per request sent, from the history's `workload` record (1.0 for
    a whole workload, or a run recorded before workload records)."""
    with contextlib.suppress(OSError), history.open() as f:
        for line in f:
            if '"workload"' in line:
                w = json.loads(line)
                if w.get("type") == "workload" and w.get("kept"):
                    return w["items"] / w["kept"]
    return 1.0


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
    target: str,
    op: str,
    victims: list[str],
    downtime: float = 0.3,
    window_ms: float = 300,
    kind: str = "kill",
) -> list[Fault]:
    """Fault `target` right after the world applies `op` for each victim key: the window
    between a side effect and its journal entry, when the victims' answers are held back
    `window_ms` by a latency knob (`Run.effect_window` sets both). `kind` "kill" kills the
    service; "reset" is its network twin: the streams in flight to it are reset while it
    lives on. A fault that comes later missed its window, and is recorded so."""
    return [
        Fault(
            kind,  # type: ignore[arg-type]
            target,
            downtime=downtime,
            on_event={"op": op, "outcome": "applied", "key": v},
            window_ms=window_ms,
        )
        for v in victims
    ]


def seeded_plan(
    rng: random.Random,
    requests: int,
    faults: Sequence[tuple[str, str] | tuple[str, str, dict[str, Any]]],
    downtime: float = 0.3,
    window: tuple[float, float] = (0.2, 0.8),
) -> list[Fault]:
    """Exactly the listed faults, (kind, target) or (kind, target, args) for a network
    kind's arguments, each after a seeded number of finished requests within `window` of
    the workload: the seed moves them, never drops one, so a negative control that needs
    its service killed gets it on every seed."""
    lo, hi = int(requests * window[0]), int(requests * window[1])
    return [
        Fault(
            f[0],  # type: ignore[arg-type]
            f[1],
            after_ops=rng.randrange(lo, hi),
            downtime=downtime,
            args=f[2] if len(f) > 2 else None,  # type: ignore[misc]
        )
        for f in faults
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


# an upgrade is triggered in the first half of the workload, while requests still start, and
# switches once the old version has an invocation in flight (harness/nemesis/upgrade.py):
# aimed at work, however slow the machine
UPGRADE_WINDOW = (0.1, 0.5)


def seeded_upgrade(
    rng: random.Random, requests: int, target: str, args: dict[str, Any]
) -> list[Fault]:
    """One upgrade of `target` (`args`: see UPGRADE_ARGS) after a seeded number of finished
    requests within UPGRADE_WINDOW of the workload."""
    return seeded_plan(rng, requests, [("upgrade", target, args)], window=UPGRADE_WINDOW)


def scale_plan(plan: list[Fault], scale: int, requests: int) -> list[Fault]:
    """The plan once per 1/`scale` of a workload of `requests` (--scale): a fault after p
    of the requests fires after (p/requests + j)/scale of them, for j = 0..scale-1, so the
    faults keep their place in each part. Faults fired by time or by a world event are kept
    as they are: a scenario that scales them picks more keys itself (`Run.scale`)."""
    if scale == 1 or requests == 0:
        return plan
    out = [f for f in plan if f.after_ops is None]
    for f in plan:
        if f.after_ops is not None:
            out += [
                dataclasses.replace(f, after_ops=(f.after_ops + j * requests) // scale)
                for j in range(scale)
            ]
    return out


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


# Restate invocation states that are work under way: everything but paused (retries
# exhausted) and done; a delayed message waiting to fire (scheduled) is the work a timer
# scenario's faults aim at
IN_FLIGHT_STATES = ("scheduled", "pending", "ready", "running", "suspended", "backing-off")
SAMPLE_EVERY = 0.2  # seconds between samples of Restate's invocation counts
# seconds between asks whether the world applied an armed delivery fault (it records when,
# itself): six faults waiting a whole run must not load a 2-core machine with requests
DELIVERY_POLL = 0.25


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
        restate: Callable[[], Awaitable[dict[str, int] | None]] | None = None,
        links: dict[str, LinkTarget] | None = None,
        roles: dict[str, str] | None = None,
        upgrade: Upgrade | None = None,
        serves_without: Callable[[str], Awaitable[bool]] | None = None,
    ):
        self.links = links or {}
        # a cluster: whether it serves every partition without the node given (failover)
        self.serves_without = serves_without
        self.upgrade = upgrade
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
        self.restate = restate  # invocation counts by status of the run's services
        self.faults_path = faults_path
        self.workload_done = asyncio.Event()  # set by the caller: no trigger fires after it
        # event-triggered faults waiting: plan index -> future resolved with the event
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._per_target: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._in_force: set[int] = set()
        self._sample: tuple[float, dict[str, int]] | None = None  # (monotonic, counts)
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
            counts = await self.restate()  # None while the server is down
            if counts is not None:
                self._sample = (time.monotonic(), counts)
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
        inject = {
            "process": self._execute,
            "link": self._network,
            "deployment": self._upgrade,
            "delivery": self._delivery,
        }[acts_on]
        if acts_on == "delivery":  # the world carries them out, each when its delivery comes
            await inject(i, fault, progress, event, 0.0)
            return
        # a process and its network path are different targets: their faults may overlap
        layer = "net:" if acts_on == "link" else ""
        target = self.roles.get(fault.target, fault.target)
        fired, lock = time.monotonic(), self._per_target[layer + target]
        behind = lock.locked()  # another fault on the same target is in force
        async with lock:
            queued = (time.monotonic() - fired) * 1000 if behind else 0.0
            await inject(i, fault, progress, event, queued)

    def _aim(
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
            at, counts = self._sample
            out["restate_in_flight"] = sum(counts.get(s, 0) for s in IN_FLIGHT_STATES)
            out["restate_sample_age_ms"] = round((time.monotonic() - at) * 1000, 1)
        if queued:  # ms behind another fault on the same target (any other lag: event_lag_ms)
            out["waited_ms"] = round(queued, 1)
        if self._in_force:
            out["overlaps"] = sorted(self._in_force)
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

    def _struck(self, fault: Fault, event: dict[str, Any] | None) -> tuple[Target, dict[str, Any]]:
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

    async def _execute(
        self,
        i: int,
        fault: Fault,
        progress: Progress,
        event: dict[str, Any] | None,
        queued: float,
    ) -> None:
        target, struck = self._struck(fault, event)
        aim = {**self._aim(fault, progress, event, queued), **struck}
        if fault.target in self.roles:
            aim["role"] = self.roles[fault.target]
        self.record("fault-start", fault=i, kind=fault.kind, target=fault.target, **aim)
        began = time.monotonic()
        self.injected += 1
        self._in_force.add(i)
        measured: dict[str, float | None] = {}
        try:
            if fault.kind == "kill":
                await target.kill()
            elif fault.kind == "stop":
                await target.stop()
            else:
                target.pause()
            if self.roles.get(fault.target) == "node" and self.serves_without is not None:
                measured["failover_s"] = await self._failover(fault, began)
            await asyncio.sleep(max(0.0, began + fault.downtime - time.monotonic()))
            if fault.kind == "pause":
                target.resume()
                ready = 0.0
            else:
                # until it serves again (a server: every partition has a leader); what the
                # start measured besides (a server: when its process was up)
                ready = await target.start()
                measured.update(
                    {k.replace("_s", "_after"): v for k, v in target.last_start.items()}
                )
        finally:
            self._in_force.discard(i)
        # ready_after: from the restart to serving; unavailable_s: from the fault to serving
        self.record(
            "fault-end",
            fault=i,
            kind=fault.kind,
            target=fault.target,
            ready_after=round(ready, 3),
            unavailable_s=round(time.monotonic() - began, 3),
            **measured,
        )

    async def _failover(self, fault: Fault, began: float) -> float | None:
        """Seconds from the fault until the cluster served every partition without the
        node (probed every SAMPLE_EVERY s through another node), or None if it did not
        before the node's downtime ended."""
        assert self.serves_without is not None
        while time.monotonic() - began < fault.downtime:
            if await self.serves_without(fault.target):
                return round(time.monotonic() - began, 3)
            await asyncio.sleep(SAMPLE_EVERY)
        return None

    async def _network(
        self,
        i: int,
        fault: Fault,
        progress: Progress,
        event: dict[str, Any] | None,
        queued: float,
    ) -> None:
        """A network fault on the path to `fault.target`, through the proxy. A reset acts
        at once; fail-nth arms the proxy and acts (is recorded) when the Nth attempt
        comes, or is recorded as missed when none came within `downtime`; the others set
        conditions on the path for `downtime` seconds."""
        link = self.links[fault.target]
        what = {"fault": i, "kind": fault.kind, "target": fault.target}
        if fault.args:
            what["args"] = fault.args
        if fault.target in self.versions:  # the path to the newest version
            what["version"] = self.versions[fault.target][-1][0]
        self.injected += 1
        if fault.kind in ("reset", "reset-connections"):
            scope = "connections" if fault.kind == "reset-connections" else "streams"
            answer = await link.reset(scope)
            aim = self._aim(fault, progress, event, queued, answer["before"])
            self.record("fault-start", **what, **aim, reset=answer.get(scope, 0))
            self.record("fault-end", **what, ready_after=0.0)
            return
        if fault.kind == "fail-nth":
            nth = int((fault.args or {}).get("nth", NETWORK_KINDS["fail-nth"]["nth"]))
            answer = await link.fail_nth(nth)
            goal, t0 = answer["before"]["attempts"] + nth, time.monotonic()
            now = answer["before"]
            while now["attempts"] < goal and time.monotonic() - t0 < fault.downtime:
                await asyncio.sleep(0.01)
                now = await link.stats()
            if now["attempts"] < goal:
                await link.fail_nth(None)
            aim = self._aim(fault, progress, event, queued, now)
            aim["landed"] = now["attempts"] >= goal
            if not aim["landed"]:
                aim["missed"] = f"no {nth}th invocation attempt came within {fault.downtime:g} s"
            aim["armed_ms"] = round((time.monotonic() - t0) * 1000, 1)
            self.record("fault-start", **what, **aim)
            self.record("fault-end", **what, ready_after=0.0)
            return
        answer = await link.set(**conditions(fault))
        aim = self._aim(fault, progress, event, queued, answer["before"])
        if fault.kind == "slow-close":  # the close the server learns of late
            aim["reset"] = (await link.reset("service-side"))["connections"]
        self.record("fault-start", **what, **aim)
        self._in_force.add(i)
        try:
            await asyncio.sleep(fault.downtime)
        finally:
            self._in_force.discard(i)
            healed = await link.set()
        attempts = healed["before"]["attempts"] - answer["before"]["attempts"]
        self.record("fault-end", **what, ready_after=0.0, attempts_during=attempts)

    async def _delivery(
        self,
        i: int,
        fault: Fault,
        progress: Progress,
        event: dict[str, Any] | None,
        queued: float,
    ) -> None:
        """A delivery fault, armed at the world for the next planned webhook delivery it
        fits: landed when the world applied it within `within_s`, else disarmed and
        recorded as missed. Nothing to undo: the world carries out the changed deliveries."""
        assert self.events is not None
        args = {**kind(fault.kind).args, **(fault.args or {})}
        what = {"fault": i, "kind": fault.kind, "target": fault.target, "args": args}
        self.injected += 1
        t0 = time.monotonic()
        await self.events.arm_delivery(i, fault.kind, args)
        applied = None
        while (
            applied is None
            and time.monotonic() - t0 < args["within_s"]
            and not self.workload_done.is_set()
        ):
            await asyncio.sleep(DELIVERY_POLL)
            applied = await self.events.delivery_fault(i)
        if applied is None:
            applied = await self.events.delivery_fault(i, disarm=True)
        aim = self._aim(fault, progress, event, queued)
        aim["armed_ms"] = round((time.monotonic() - t0) * 1000, 1)
        if applied is not None:
            aim.update(landed=True, world_key=applied["key"])
            aim.pop("missed", None)
        else:
            fits = "key with two or more planned" if fault.kind == "reorder-delivery" else ""
            of = f" of {args['key']}" if args.get("key") else ""
            until = (
                "before the workload ended"
                if self.workload_done.is_set()
                else f"within {args['within_s']:g} s"
            )
            aim.update(
                landed=False,
                missed=f"no {fits or 'planned'} webhook deliver{'ies' if fits else 'y'}{of} "
                f"came {until}",
            )
        self.record("fault-start", **what, **aim)
        self.record("fault-end", **what, ready_after=0.0)

    async def _upgrade(
        self,
        i: int,
        fault: Fault,
        progress: Progress,
        event: dict[str, Any] | None,
        queued: float,
    ) -> None:
        """A new version of the service (Upgrader.upgrade), switched to once the old version
        has an invocation in flight; from then on the service's faults act on the new
        version and its path. One that found no work before the workload ended is
        recorded as missed."""
        assert self.upgrade is not None, "upgrade faults need an Upgrader"
        what = {"fault": i, "kind": fault.kind, "target": fault.target, "args": fault.args}
        self.injected += 1
        self._in_force.add(i)
        try:
            done, process, link = await self.upgrade(
                fault.target, dict(fault.args or {}), self.workload_done
            )
        finally:
            self._in_force.discard(i)
        aim = self._aim(fault, progress, event, queued)  # at the switch
        if "missed" in done:
            aim.update(landed=False, missed=done["missed"])
        elif not done.get("pinned_at_switch"):
            aim.update(landed=False, missed="the old version's invocations had all completed "
                       "by the switch")  # fmt: skip
        else:
            aim["landed"] = True
        self.record("fault-start", **what, **aim)
        if "missed" in done:
            self.record("fault-end", **what, ready_after=0.0)
            return
        old = self.versions.get(fault.target) or [(1, self.targets[fault.target])]
        self.versions[fault.target] = [*old, (done["version"], process)]
        self.targets[fault.target] = process
        if link is not None:
            self.links[fault.target] = link
        self.record("fault-end", **what, **{"ready_after": 0.0, **done})

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
