"""Likely causes of a violation, from evidence, in words a stakeholder reads.

A counterexample says what went wrong ("2 effective emails"); its cause says why, as far
as the run's records show it: whether the calls to the world carried an idempotency key,
whether the key changed between attempts, and which fault came before each extra copy.
Checkers put the per-key cause first in a counterexample (`cause`) and the run's in the
verdict (`Verdict.cause`), which the report shows under the summary.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from typing import Any

from harness.nemesis.faults import describe

Effects = list[dict[str, Any]]


def fault_starts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The faults of a run, each a fault-start record with `until`: the wall time of its
    end (a network fault is in force until then; none recorded: the run's end)."""
    ends = {r.get("fault"): r.get("wall", 0.0) for r in records if r.get("type") == "fault-end"}
    return sorted(
        (
            {**r, "until": ends.get(r.get("fault"), float("inf"))}
            for r in records
            if r.get("type") == "fault-start"
        ),
        key=lambda r: r.get("wall", 0.0),
    )


def _keys(op: str, effects: Effects) -> str:
    """What the idempotency keys of the applying calls say: none, or another each time."""
    idems = [e.get("idem") for e in effects]
    if all(i is None for i in idems):
        return "none"
    return "fresh" if len(set(idems)) == len(idems) else "mixed"


def _befores(effects: Effects, faults: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Per extra copy, the last fault in force at some point since the copy before it (a
    kill that began then, or a network fault still on), or None."""
    out = []
    for before, extra in pairwise(sorted(effects, key=lambda e: e.get("wall", 0.0))):
        a, b = before.get("wall", 0.0), extra.get("wall", 0.0)
        within = [f for f in faults if f.get("wall", 0.0) <= b and f["until"] >= a]
        out.append(within[-1] if within else None)
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
        f"after {describe(f['kind'], f['target'])} (fault {f.get('fault')})"
        if f
        else "with no fault between (the service repeated it on its own)"
        for f in _befores(effects, faults)
    ]
    kind = _keys(op, effects)
    idems = "" if kind == "none" else f" ({', '.join(str(e.get('idem')) for e in effects[:3])})"
    return f"{KEYS[kind].format(op=op)}{idems}; each extra copy came {'; '.join(after)}"


def duplicates_cause(op: str, by_key: dict[str, Effects], records: list[dict[str, Any]]) -> str:
    """The run's cause over every duplicated key (`by_key`: key -> its effects): "the
    email API was called without an idempotency key; 44 key(s) had 2-3 emails, 46 extra
    copies, each after a fault (kill -9 of tickets: 30, kill -9 of server: 16)"."""
    faults = fault_starts(records)
    kinds = Counter(_keys(op, v) for v in by_key.values())
    keys = "; ".join(
        KEYS[k].format(op=op) + (f" ({n} keys)" if len(kinds) > 1 else "")
        for k, n in kinds.most_common()
    )
    befores = [f for v in by_key.values() for f in _befores(v, faults)]
    counts = Counter(describe(f["kind"], f["target"]) for f in befores if f)
    alone = sum(f is None for f in befores)
    where = ", ".join(f"{w}: {n}" for w, n in counts.most_common())
    if not alone:
        after = f"each after a fault ({where})"
    elif counts:
        after = f"{len(befores) - alone} after a fault ({where}), {alone} with no fault between"
    else:
        after = "with no fault between them (the service repeats it on its own)"
    sizes = sorted(len(v) for v in by_key.values())
    many = f"{sizes[0]}" if sizes[0] == sizes[-1] else f"{sizes[0]}-{sizes[-1]}"
    return f"{keys}; {len(by_key)} key(s) had {many} {op}s, {len(befores)} extra copies, {after}"
