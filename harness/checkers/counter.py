"""Counter invariant: each counter equals the distinct idempotency keys applied to it."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.checkers.verdict import Verdict, checker, judged
from harness.workload.history import operations

NAME = "no lost or doubled increment"


@checker
def check_counters(
    records: list[dict[str, Any]], counters: dict[str, int], delta: int = 1
) -> Verdict:
    """For every key: acknowledged <= counter/delta <= acknowledged + unknown, where
    acknowledged counts distinct idempotency keys with an `ok`, and unknown those whose
    every attempt ended `info` (they may or may not have been applied).

    complete: every acknowledged increment is in its key's final value (lost: violated).
    correct: nothing beyond the acknowledged and the unknown ones (doubled: violated).

    Failed answers: an increment answered with a failure counts as not applied: the
    counter must not hold it (an unknown outcome may or may not be there).
    Amounts: the counter's value against the acknowledged increments times `delta`."""
    acked: dict[str, set[str]] = defaultdict(set)
    maybe: dict[str, set[str]] = defaultdict(set)
    ops_by_idem: dict[str, list[int]] = defaultdict(list)
    for op in operations(records):
        if op.invoke.get("handler") != "add" or op.idem is None:
            continue
        ops_by_idem[op.idem].append(op.op)
        if op.outcome == "ok":
            acked[op.key].add(op.idem)
        elif op.outcome == "info":
            maybe[op.key].add(op.idem)
    bad = []
    exact = 0
    for key in sorted(set(acked) | set(maybe) | set(counters)):
        unknown = maybe[key] - acked[key]
        lo, hi = len(acked[key]), len(acked[key]) + len(unknown)
        value = counters.get(key, 0)
        if value % delta or not lo <= value // delta <= hi:
            bad.append(
                {
                    "key": key,
                    "counter": value,
                    "acknowledged": lo,
                    "unknown": len(unknown),
                    "problem": "lost increment" if value // delta < lo else "doubled increment",
                    "ops": sorted(o for i in acked[key] | unknown for o in ops_by_idem[i])[:50],
                }
            )
        elif not unknown:
            exact += 1
    total_acked = sum(len(v) for v in acked.values())
    stats = {
        "keys": len(counters),
        "acknowledged": total_acked,
        "exact_keys": exact,
        "violations": len(bad),
    }
    return judged(
        NAME,
        bad,
        stats,
        f"{len(bad)} of {len(counters)} counters are wrong ({total_acked} acknowledged increments)",
        f"{len(counters)} counters match their {total_acked} acknowledged increments exactly"
        if exact == len(counters)
        else f"{len(counters)} counters within bounds ({exact} exact)",
    )
