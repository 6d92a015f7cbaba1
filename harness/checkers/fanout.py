"""Fan-out / fan-in: every subtask once, and the aggregate is the sum of the subtasks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from harness.checkers.preconditions import happened_before
from harness.checkers.verdict import Verdict, checker, judged
from harness.workload.history import operations


@checker
def check_fanout(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    handler: str,
    total: Callable[[Any], int] = lambda answer: answer["total"],
    aggregate_recorded: bool = True,
) -> Verdict:
    """Per task (records as `RunData.actions()` gives them: key = the task id, request
    {"subtasks": n}), world events keyed "<id>:<index>" and "<id>:aggregate".

    complete: an acknowledged task has all n subtasks and its aggregate in the ledger (an
    aggregate left to a background task that a kill lost is missing). correct: each subtask
    and the aggregate at most once; the aggregate equals the sum of the subtask amounts and
    the `total` the client was told, and was recorded after its last subtask (the world's
    clock: an aggregate cannot report work not yet done). `aggregate_recorded` False: the
    service does not record its aggregate in the world, so only the client's total is
    checked against the subtasks.

    Failed answers: a task answered with a failure is not required to be complete; its
    subtasks are still held to at most once.
    Amounts: the aggregate against the sum of its subtasks' amounts and the total the
    client was told."""
    name = "every subtask once, the aggregate is their sum"
    subs: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    agg: dict[str, list[int]] = defaultdict(list)
    walls: dict[str, dict[str, float]] = defaultdict(dict)  # task -> last subtask, aggregate
    for e in ledger["effects"]:
        task, _, part = (e.get("key") or "").rpartition(":")
        if e["op"] != "event" or not task:
            continue
        (agg[task] if part == "aggregate" else subs[task][part]).append(e.get("amount") or 0)
        which = "aggregate" if part == "aggregate" else "subtask"
        walls[task][which] = max(walls[task].get(which, 0.0), e["wall"])
    tasks: dict[str, dict[str, Any]] = {}
    for o in operations(records):
        if o.invoke.get("handler") != handler:
            continue
        t = tasks.setdefault(
            o.key or "", {"n": o.invoke["req"]["subtasks"], "totals": set(), "ops": []}
        )
        t["ops"].append(o.op)
        if o.outcome == "ok":
            t["totals"].add(total(o.result["resp"]))  # type: ignore[index]
    bad = []
    n_subs = 0
    for tid, t in sorted(tasks.items()):
        done = subs.get(tid, {})
        n_subs += sum(len(v) for v in done.values())
        problems = []
        twice = sorted(i for i, v in done.items() if len(v) > 1)
        if twice:
            problems.append(f"subtasks done more than once: {twice}")
        if len(agg[tid]) > 1:
            problems.append(f"aggregate recorded {len(agg[tid])} times")
        w = walls.get(tid, {})
        if "aggregate" in w and not happened_before(w.get("subtask", 0.0), w["aggregate"]):
            problems.append("aggregate recorded before its last subtask was done")
        if t["totals"]:
            if len(done) != t["n"]:
                problems.append(f"acknowledged with {len(done)} of {t['n']} subtasks done")
            if not agg[tid] and aggregate_recorded:
                problems.append("acknowledged, but no aggregate in the ledger")
            expected = sum(v[0] for v in done.values())
            if agg[tid] and agg[tid][0] != expected:
                problems.append(f"aggregate {agg[tid][0]} != sum of subtasks {expected}")
            if t["totals"] != {expected}:
                problems.append(f"client told {sorted(t['totals'])}, subtasks sum to {expected}")
        if problems:
            bad.append({"key": tid, "problem": "; ".join(problems), "ops": t["ops"][:20]})
    stats = {"tasks": len(tasks), "subtask_effects": n_subs, "violations": len(bad)}
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {len(tasks)} tasks lost, repeated, mis-summed or mis-ordered "
        "subtasks or aggregates",
        f"{len(tasks)} tasks, {n_subs} subtasks each done once, every "
        "aggregate equal to the sum of its subtasks",
    )
