"""Fault plans: plain data built from the seed.

A plan is a list of Fault records. Each fires on a trigger (N requests finished, T seconds
into the chaos phase, or a world event), acts on one target (a service name, "server" or
"world") and is undone after `downtime` seconds. The nemesis (harness/nemesis/nemesis.py)
executes a plan; what really happened is recorded as fault-start / fault-end events in the
history and in faults.jsonl, so a run can be read (and replayed) from its recorded
timeline as well as from its seed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.nemesis.kinds import BY_NAME, REGISTRY, kind

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
