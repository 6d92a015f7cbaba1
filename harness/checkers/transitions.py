"""State machines: one transition per key at a time, along valid paths, none lost; a slow
key does not hold up the others. Read off the world's begin / end calls."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Callable
from statistics import median
from typing import Any

from harness.checkers.verdict import Verdict, checker
from harness.workload.history import operations


def transitions(ledger: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Per key, the transitions in begin order: {invocation, to, begin, end (None if never)}.
    A retried transition repeats its calls with the same idempotency key; the first applied
    begin and end count."""
    by_inv: dict[str, dict[str, Any]] = {}
    for c in sorted(ledger["calls"], key=lambda c: c["seq"]):
        if c["op"] not in ("begin", "end") or c["outcome"] != "applied":
            continue
        inv = (c.get("idem") or "").partition("-")[2]
        t = by_inv.setdefault(
            inv, {"invocation": inv, "key": c["key"], "to": None, "begin": None, "end": None}
        )
        t[c["op"]] = t[c["op"]] or c["wall"]
        t["to"] = t["to"] or json.loads(c["request"]).get("to")
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in by_inv.values():
        if t["begin"] is not None:
            out[t["key"]].append(t)
    for ts in out.values():
        ts.sort(key=lambda t: t["begin"])
    return out


@checker
def check_transitions(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    finals: dict[str, str],
    states: dict[str, str],
    initial: str,
    moved: Callable[[Any], bool] = lambda answer: "now" in str(answer),
) -> Verdict:
    """`states`: handler -> the state it moves to; `finals`: key -> state read at the end.
    Per key: transitions never overlap; each moves to a different state than the one
    before (starting from `initial`); every acknowledged answer that says it `moved` is one
    transition (unknown outcomes may or may not be); the final state is the last
    transition's.

    complete: every acknowledged move is a transition in the ledger. correct: no overlap,
    no move to the same state, and the final state is the last transition's.

    Failed answers: a move answered with a failure counts as not applied: the
    transitions must not exceed the acknowledged and unknown moves.
    Amounts: none."""
    name = "one transition per key at a time, along valid paths, none lost"
    per_key = transitions(ledger)
    acked: dict[str, set[str]] = defaultdict(set)  # distinct idempotency keys
    maybe: dict[str, set[str]] = defaultdict(set)
    op_ids: dict[str, list[int]] = defaultdict(list)
    for o in operations(records):
        if o.invoke.get("handler") in states and o.key:
            op_ids[o.key].append(o.op)
            if o.outcome == "ok" and moved(o.result["resp"]):  # type: ignore[index]
                acked[o.key].add(o.idem or str(o.op))
            elif o.outcome == "info":
                maybe[o.key].add(o.idem or str(o.op))
    bad = []
    n = 0
    for key in sorted(set(per_key) | set(acked) | set(finals)):
        ts = per_key.get(key, [])
        n += len(ts)
        problems = []
        for a, b in itertools.pairwise(ts):
            if a["end"] is None or b["begin"] < a["end"]:
                problems.append(f"transitions to {a['to']} and {b['to']} overlap")
        path = [initial] + [t["to"] for t in ts]
        if any(x == y for x, y in itertools.pairwise(path)):
            problems.append(f"invalid path {' -> '.join(path)}")
        lo = len(acked[key])
        if not lo <= len(ts) <= lo + len(maybe[key] - acked[key]):
            problems.append(f"{lo} acknowledged transitions, {len(ts)} happened")
        if key in finals and finals[key] != path[-1]:
            problems.append(f"final state {finals[key]}, last transition to {path[-1]}")
        if problems:
            bad.append(
                {
                    "key": key,
                    "problem": "; ".join(problems),
                    "ops": op_ids[key][:30],
                    "transitions": ts[:20],
                }
            )
    keys = len(set(per_key) | set(acked) | set(finals))
    stats = {"keys": keys, "transitions": n, "final_reads": len(finals), "violations": len(bad)}
    unread = "" if finals else " (no final state read: the contract has no status read)"
    if bad:
        return Verdict(
            name, False, f"{len(bad)} of {keys} machines broke the state machine{unread}", stats,
            bad,
        )  # fmt: skip
    return Verdict(
        name,
        True,
        f"{keys} machines, {n} transitions, none overlapping, every path valid, none lost{unread}",
        stats,
    )


@checker
def check_not_held_up(
    ledger: dict[str, list[dict[str, Any]]], slow: set[str], min_share: float = 0.4
) -> Verdict:
    """Transitions of other keys complete while a slow key's transition is in progress: at
    least `min_share` of the other keys' transitions begin and end inside a slow one. Not
    all: some come before or after the slow ones, and a kill leaves every key waiting for
    the restart at once. Keys serialised behind the slow ones score near 0.

    Failed answers: not read: judged from the world's transitions.
    Amounts: none."""
    name = "a slow key does not hold up the others"
    per_key = transitions(ledger)
    spans = [(t["begin"], t["end"]) for k in slow for t in per_key.get(k, []) if t["end"]]
    others = [t for k, ts in per_key.items() if k not in slow for t in ts if t["end"]]

    def inside(t: dict[str, Any], b: float, e: float) -> bool:
        return b < t["begin"] and t["end"] < e

    during = sum(1 for t in others if any(inside(t, b, e) for b, e in spans))
    overtaken = sum(1 for b, e in spans if any(inside(t, b, e) for t in others))
    stats = {
        "slow_transitions": len(spans),
        "slow_transitions_overtaken": overtaken,
        "others_completed_during_them": during,
    }
    if not spans:
        return Verdict(name, "unknown", "no slow transition happened", stats)
    slow_s = median(e - b for b, e in spans)
    other_s = median(t["end"] - t["begin"] for t in others) if others else 0.0
    stats.update(slow_median_s=round(slow_s, 3), others_median_s=round(other_s, 3))
    if others and slow_s < 2 * other_s:  # the service's own timing: no slow key to test with
        return Verdict(
            name,
            "unknown",
            f"the slow keys' transitions took no longer than the others' (median {slow_s:.2f}"
            f" s against {other_s:.2f} s): whether one holds up the others cannot be told",
            stats,
        )
    if during < min_share * len(others):
        blocked = [
            {"begin": b, "end": e} for b, e in spans if not any(inside(t, b, e) for t in others)
        ]
        return Verdict(
            name,
            False,
            f"only {during} of {len(others)} transitions of other keys completed while one of "
            f"{len(spans)} slow transitions was in progress (at least {min_share:.0%} "
            "expected): the others waited",
            stats,
            [{"problem": "held up: no other key completed during it", **s} for s in blocked[:20]],
        )
    return Verdict(
        name,
        True,
        f"{during} of {len(others)} transitions of other keys completed while one of "
        f"{len(spans)} slow transitions was in progress ({overtaken} of them overtaken)",
        stats,
    )
