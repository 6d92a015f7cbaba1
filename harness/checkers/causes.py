"""Likely causes of a violation, from evidence, in words a stakeholder reads.

A counterexample says what went wrong ("2 effective emails"); its cause says why, as far
as the run's records show it: whether the calls to the world carried an idempotency key,
whether the key changed between attempts, and which fault came before each extra copy.
Checkers put the per-key cause first in a counterexample (`cause`) and the run's in the
verdict (`Verdict.cause`), which the report shows under the summary.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from harness.nemesis.faults import describe
from harness.world.routes import UNROUTED

Effects = list[dict[str, Any]]


def fault_starts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fault-start records of a run, by time."""
    starts = (r for r in records if r.get("type") == "fault-start")
    return sorted(starts, key=lambda r: r.get("wall", 0.0))


def _keys(op: str, effects: Effects) -> str:
    """What the idempotency keys of the applying calls say: none, or another each time."""
    idems = [e.get("idem") for e in effects]
    if all(i is None for i in idems):
        return "none"
    return "fresh" if len(set(idems)) == len(idems) else "mixed"


def _befores(effects: Effects, faults: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Per extra copy, the last fault that began before it, with `gap_s` (how long before).
    Not only one between the copies: an attempt cut off by a server kill can still apply
    the step once the server is back, and its replacement applies it again later."""
    out = []
    for extra in sorted(effects, key=lambda e: e.get("wall", 0.0))[1:]:
        at = extra.get("wall", 0.0)
        before = [f for f in faults if f.get("wall", 0.0) <= at]
        out.append({**before[-1], "gap_s": at - before[-1].get("wall", 0.0)} if before else None)
    return out


KEYS = {
    "none": "the {op} API was called without an idempotency key",
    "fresh": "each {op} call carried another idempotency key (one made per attempt)",
    "mixed": "the {op} calls carried no idempotency key or changing ones",
}


def duplicate_cause(op: str, effects: Effects, faults: list[dict[str, Any]]) -> str:
    """Why one key has several effective `op`s: "the email API was called without an
    idempotency key; each extra copy came after kill -9 of tickets (fault 3)"."""
    after = [
        f"{f['gap_s']:.1f} s after {describe(f['kind'], f['target'])} (fault {f.get('fault')})"
        if f
        else "with no fault before it (the service repeated it on its own)"
        for f in _befores(effects, faults)
    ]
    kind = _keys(op, effects)
    idems = "" if kind == "none" else f" ({', '.join(str(e.get('idem')) for e in effects[:3])})"
    return f"{KEYS[kind].format(op=op)}{idems}; each extra copy came {'; '.join(after)}"


def duplicates_cause(op: str, by_key: dict[str, Effects], faults: list[dict[str, Any]]) -> str:
    """The run's cause over every duplicated key (`by_key`: key -> its effects): "the
    email API was called without an idempotency key; 44 key(s) had 2-3 emails, 46 extra
    copies, each after a fault (the last before it: kill -9 of tickets: 30, kill -9 of
    server: 16, 0.4 s after it at the median)"."""
    kinds = Counter(_keys(op, v) for v in by_key.values())
    keys = "; ".join(
        KEYS[k].format(op=op) + (f" ({n} keys)" if len(kinds) > 1 else "")
        for k, n in kinds.most_common()
    )
    befores = [f for v in by_key.values() for f in _befores(v, faults)]
    counts = Counter(describe(f["kind"], f["target"]) for f in befores if f)
    alone = sum(f is None for f in befores)
    where = ", ".join(f"{w}: {n}" for w, n in counts.most_common())
    gaps = sorted(f["gap_s"] for f in befores if f)
    within = f", {gaps[len(gaps) // 2]:.1f} s after it at the median" if gaps else ""
    if not alone:
        after = f"each after a fault (the last before it: {where}{within})"
    elif counts:
        after = (
            f"{len(befores) - alone} after a fault (the last before it: {where}{within}), "
            f"{alone} with no fault before them"
        )
    else:
        after = "with no fault before them (the service repeats it on its own)"
    sizes = sorted(len(v) for v in by_key.values())
    many = f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}-{sizes[-1]}"
    return f"{keys}; {len(by_key)} key(s) had {many} {op}s, {len(befores)} extra copies, {after}"


def world_unused(ledger: dict[str, list[dict[str, Any]]], ops: tuple[str, ...] = ()) -> bool:
    """Not one call or effect of `ops` (of any operation when empty) reached the world:
    the service does not make them through it, so its effects cannot be judged."""

    def used(rows: list[dict[str, Any]]) -> bool:
        return any(r.get("op") != UNROUTED and (not ops or r.get("op") in ops) for r in rows)

    return not used(ledger["effects"]) and not used(ledger.get("calls", []))


def unrouted(ledger: dict[str, list[dict[str, Any]]]) -> str:
    """The requests to the world that no declared route mapped (answered 404), in words;
    empty when there were none."""
    seen: Counter[str] = Counter()
    for c in ledger.get("calls", []):
        if c.get("op") == UNROUTED:
            call = json.loads(c["request"]) if isinstance(c.get("request"), str) else {}
            seen[f"{call.get('method', '?')} {call.get('path', '?')}"] += 1
    if not seen:
        return ""
    listed = ", ".join(f"{what} x{n}" for what, n in seen.most_common(5))
    return (
        f"the world answered 404 to {sum(seen.values())} request(s) that no declared route maps "
        f"({listed}{', ...' if len(seen) > 5 else ''}): the service calls an API its adapter's "
        "ROUTES do not map onto the world's operations"
    )


def not_through_world(what: str, see: str) -> str:
    """ "the service does not <what> through the world (...), so the harness cannot <see>" """
    return (
        f"the service does not {what} through the world (the contract asks it to), so the "
        f"harness cannot {see}"
    )
