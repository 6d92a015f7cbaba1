"""State machines: one transition per key at a time, along valid paths, none lost; a slow
key does not hold up the others. Read off the world's begin / end calls."""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from statistics import median
from typing import Any

from harness.checkers.bounds import unavailability
from harness.checkers.verdict import Verdict, checker, judged
from harness.workload.history import operations


def transitions(ledger: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """Per key, the transitions in begin order: {invocation, to, begin, end (None if never),
    last_begin}. A retried transition repeats its calls with the same idempotency key; the
    first applied begin and end count, and `last_begin` is its last attempt's begin call
    (the backoff before a retried attempt holds nothing up)."""
    by_inv: dict[str, dict[str, Any]] = {}
    for c in sorted(ledger["calls"], key=lambda c: c["seq"]):
        if c["op"] not in ("begin", "end") or c["outcome"] not in ("applied", "duplicate"):
            continue
        inv = (c.get("idem") or "").partition("-")[2]
        t = by_inv.setdefault(
            inv, {"invocation": inv, "key": c["key"], "to": None, "begin": None, "end": None}
        )
        if c["op"] == "begin":
            t["last_begin"] = c["wall"]  # in call order: the last attempt's
        if c["outcome"] == "applied":
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
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {keys} machines broke the state machine{unread}",
        f"{keys} machines, {n} transitions, none overlapping, every path valid, none lost{unread}",
    )


# "A slow key does not hold up the others" rests on two witnesses of the same run, each with
# a gap between its bands (a value in the gap is no evidence either way). Serialization: of
# the slow transitions with other keys' work near them, the share beside which another
# key's transition ran (a process-wide lock lets none: 0% measured in 12 runs; an isolated
# service 83-100% in 18). Waiting: how much longer the other keys' transitions took when
# they overlapped a slow one than when they overlapped none (a blocked event loop: 6.5-9.5x
# in 12 runs, a core kept busy or not; an isolated service 0.9-1.25x); only where the other
# keys do equal work, so their durations compare.
SERIAL_HELD, SERIAL_FREE = 0.05, 0.50  # share of slow transitions run beside
WAIT_HELD, WAIT_FREE = 3.0, 1.5  # duration beside a slow one / overlapping none
MIN_WITNESSES = 4  # slow transitions with work near, and other transitions on each side


def _overlaps(t: dict[str, Any], spans: Sequence[tuple[float, float]]) -> bool:
    return any(t["begin"] < e and b < t["end"] for b, e in spans)


@checker
def check_not_held_up(
    ledger: dict[str, list[dict[str, Any]]],
    slow: set[str],
    records: Sequence[dict[str, Any]] = (),
    equal_work: bool = True,
) -> Verdict:
    """While a slow key's transition runs (its last attempt, from its begin call to its end
    call at the world), the other keys go on. Judged on two witnesses of the same run, with
    the bands above: serialization, the share of slow transitions beside which another
    key's transition ran; waiting, how much longer the other keys' transitions took when
    they overlapped a slow one than when they overlapped none (only with `equal_work`: the
    other keys' transitions do the same work, so their durations compare). Held up
    (violated): either witness in its held-up band. Free (held): one in its free band and
    none held up. Else unknown, with the figures. Transitions that overlap a fault
    (`records`' fault-start / fault-end) are left out: an outage stops every key.

    Failed answers: not read: judged from the world's transitions.
    Amounts: none."""
    name = "a slow key does not hold up the others"
    faults = [(s.start, s.end) for s in unavailability(list(records))]
    done = [
        {"key": t["key"], "begin": t["last_begin"], "end": t["end"]}
        for ts in transitions(ledger).values()
        for t in ts
        if t["end"] is not None
    ]
    done = [t for t in done if not _overlaps(t, faults)]
    slow_ones = [t for t in done if t["key"] in slow]
    spans = [(t["begin"], t["end"]) for t in slow_ones]
    others = [t for t in done if t["key"] not in slow]
    # a slow transition the serialization witness can read: the other keys still had work
    # near it (one of theirs ended after it began and began within its length after it
    # ended); at the end of a run, when only the slow keys are left, nothing can overlap
    near = [
        s for s in slow_ones
        if any(t["end"] > s["begin"] and t["begin"] < 2 * s["end"] - s["begin"] for t in others)
    ]  # fmt: skip
    beside = [s for s in near if any(_overlaps(t, [(s["begin"], s["end"])]) for t in others)]
    held = [t for t in others if _overlaps(t, spans)]
    clear = [t for t in others if not _overlaps(t, spans)]
    stats: dict[str, Any] = {
        "slow_transitions": len(spans),
        "slow_with_others_near": len(near),
        "slow_run_beside": len(beside),
        "others_overlapping_a_slow_one": len(held),
        "others_overlapping_none": len(clear),
    }
    if not spans:
        return Verdict(name, "unknown", "no slow transition happened outside faults", stats)
    slow_s = median(e - b for b, e in spans)
    # the others' own duration: of those that overlap no slow one (one held up takes as
    # long as what held it up)
    own = clear if len(clear) >= MIN_WITNESSES else others
    other_s = median(t["end"] - t["begin"] for t in own) if own else 0.0
    stats.update(slow_median_s=round(slow_s, 3), others_median_s=round(other_s, 3))
    if others and slow_s < 2 * other_s:  # the service's own timing: no slow key to test with
        return Verdict(
            name,
            "unknown",
            f"the slow keys' transitions took no longer than the others' (median {slow_s:.2f}"
            f" s against {other_s:.2f} s): whether one holds up the others cannot be told",
            stats,
        )
    share = len(beside) / len(near) if len(near) >= MIN_WITNESSES else None
    ratio = None
    if equal_work and len(held) >= MIN_WITNESSES and len(clear) >= MIN_WITNESSES and other_s:
        ratio = median(t["end"] - t["begin"] for t in held) / other_s
    stats.update(
        serialization_share=None if share is None else round(share, 2),
        waiting_ratio=None if ratio is None else round(ratio, 2),
    )
    told = [
        f"another key's transition ran beside {len(beside)} of the {len(near)} slow ones "
        "with other keys' work near them"
        + ("" if share is None else f" ({share:.0%}; held up at most {SERIAL_HELD:.0%}, "
           f"free from {SERIAL_FREE:.0%})")
    ]  # fmt: skip
    if ratio is not None:
        told.append(
            f"the other keys' transitions that overlapped a slow one took {ratio:.1f}x as "
            f"long as the {len(clear)} that overlapped none (held up from {WAIT_HELD:g}x, "
            f"free up to {WAIT_FREE:g}x)"
        )
    elif not equal_work:
        told.append("durations not compared: the other keys do unequal work")
    else:
        told.append(
            f"durations not compared: {len(held)} and {len(clear)} transitions on each side "
            f"(at least {MIN_WITNESSES} needed)"
        )
    serialized = share is not None and share <= SERIAL_HELD
    waited = ratio is not None and ratio >= WAIT_HELD
    said = "; ".join(told[::-1] if waited and not serialized else told)  # the deciding one first
    if serialized or waited:
        examples = [
            {"problem": "no other key's transition ran beside it", "key": t["key"],
             "begin": t["begin"], "end": t["end"]}
            for t in near if t not in beside
        ] if serialized else [
            {"problem": "waited for a slow key's transition", "key": t["key"],
             "begin": t["begin"], "end": t["end"]}
            for t in sorted(held, key=lambda t: t["begin"] - t["end"])
        ]  # fmt: skip
        return Verdict(name, False, f"held up: {said}", stats, examples[:20])
    free = (share is not None and share >= SERIAL_FREE) or (
        ratio is not None and ratio <= WAIT_FREE
    )
    if not free:
        return Verdict(name, "unknown", f"cannot tell: {said}", stats)
    return Verdict(name, True, said, stats)
