"""Saga compensation, read off the world's ledger against the planned failures."""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter, defaultdict
from typing import Any

from harness.checkers.causes import duplicate_cause, duplicates_cause, fault_starts
from harness.checkers.verdict import Verdict, checker
from harness.workload.history import operations

NAME = "compensations ran in reverse, once each, nothing left half-done"
WITHIN = 0.5  # seconds before a saga's first request in which a fault still counts as hitting it


def hit(span: list[float] | None, fault_times: list[float]) -> bool:
    """A fault began while the saga ran (from its first request, less WITHIN, to its
    last answer), so a crash may explain its failure."""
    if span is None:
        return True  # no request of it was seen: nothing to hold against it
    i = bisect.bisect_left(fault_times, span[0] - WITHIN)
    return i < len(fault_times) and fault_times[i] <= span[1]


UNDO = {"reserve": "cancel", "charge": "refund"}  # forward operation -> its compensation
# what an undo must give back as its step took it; an undo that leaves a field out undoes
# all of it (a refund without an amount refunds the whole charge, as payment APIs do)
REVERSED = ("amount", "resource", "account")


def given(effect: dict[str, Any], field: str) -> Any:
    """An effect's field as the ledger keeps it (a column, else the effect's answer)."""
    value = effect.get(field)
    if value is None and effect.get("response"):
        value = json.loads(effect["response"]).get(field)
    return value


def unreversed(forward: dict[str, Any], undos: list[dict[str, Any]]) -> list[str]:
    """How the undos of one step fail to give back exactly what it took: for the amount,
    what they returned together against what the step took; for the resource and the
    account, each undo whose own differs from the step's."""
    out = []
    for field in REVERSED:
        took = given(forward, field)
        if took is None or not undos:
            continue
        gave = [given(u, field) for u in undos]
        gave = [took if g is None else g for g in gave]
        op = undos[0]["op"]
        if field == "amount" and sum(gave) != took:
            out.append(f"{op} of {sum(gave)} for a {forward['op']} of {took}")
        elif field != "amount":
            out += [
                f"{op} of {field} {g!r} for a {forward['op']} of {took!r}"
                for g in gave
                if g != took
            ]
    return out


@checker
def check_saga(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    plan: dict[str, tuple[list[str], int | None]],
    handler: str,
) -> Verdict:
    """`plan`: saga id -> (its steps in order, index of the step planned to fail or None).
    World keys are "<saga id>:<step>"; a step is a forward operation (reserve, charge), its
    compensation the matching undo (cancel, refund).

    Every step takes effect at most once. A saga succeeded (every step applied, nothing
    compensated: the client must not see a failure) or failed: then the steps that took
    effect are a prefix of the steps, each was compensated once, in reverse order, nothing
    is left applied, and the client must not see success. A saga whose planned failing step
    can never succeed must fail. One planned to succeed may still fail cleanly when a fault
    hit it while it ran (bounded retries count attempts lost to crashes too: counted as
    failed_unplanned); failing with no planned failure and no fault is a violation (a retry
    budget below the transient failures the scenario injects).

    complete: every saga of the plan succeeded or failed as its plan and the faults explain,
    and each applied step of a failed one was compensated. correct: no step twice, steps
    in order, compensations in reverse, once each, each giving back what its step took,
    and the client saw what happened.

    Failed answers: a saga answered with a failure (a terminal error the service sent)
    must have nothing left applied: every step that took effect compensated once, in
    reverse; one answered with success must have every step and no compensation.
    Amounts: each compensation gives back what its step took (refunds together return
    the charge's amount; a cancel names its reservation's resource and account; an undo
    that leaves a field out undoes all of it, as payment APIs read a refund without an
    amount): money and resources are conserved per saga."""
    done: dict[str, list[str]] = defaultdict(list)
    undone: dict[str, list[str]] = defaultdict(list)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    undo_ops = set(UNDO.values())
    for e in sorted(ledger["effects"], key=lambda e: e["id"]):
        saga, _, step = (e.get("key") or "").rpartition(":")
        if e["op"] in UNDO:
            done[saga].append(step)
        elif e["op"] in undo_ops:
            undone[saga].append(step)
        else:
            continue
        rows[saga].append(e)
    answers: dict[str, set[str]] = defaultdict(set)
    op_ids: dict[str, list[int]] = defaultdict(list)
    span: dict[str, list[float]] = {}  # saga -> [first request sent, last answer]
    for o in operations(records):
        # the scenario's subject where tagged (RunData.actions), else the idempotency key
        saga = o.key if "action" in o.invoke else o.idem
        if o.invoke.get("handler") == handler and saga:
            op_ids[saga].append(o.op)
            end = o.result["t"] if o.result is not None else math.inf
            first, last = span.get(saga, [o.invoke["t"], end])
            span[saga] = [min(first, o.invoke["t"]), max(last, end)]
            if o.outcome == "ok" or o.told_failed:
                answers[saga].add(o.outcome)
    bad = []
    repeated: dict[str, list[dict[str, Any]]] = {}  # "<saga>:<step>" applied more than once
    faults = fault_starts(records)
    failed = unplanned = unexplained = 0
    compared = mismatched = 0  # undone steps whose undo was held against the step's effect
    never_undone: Counter[str] = Counter()  # sagas left applied with no compensation at all
    fault_times = sorted(r["t"] for r in records if r.get("type") == "fault-start")
    for saga, (steps, k) in sorted(plan.items()):
        problems = []
        applied = set(done[saga])
        twice = sorted({s for s in done[saga] if done[saga].count(s) > 1})
        causes = []
        if twice:
            problems.append(f"applied more than once: {twice}")
            for step in twice:
                copies = [e for e in rows[saga] if e["key"] == f"{saga}:{step}" and e["op"] in UNDO]
                repeated[f"{saga}:{step}"] = copies
                causes.append(f"{step}: {duplicate_cause(copies[0]['op'], copies, faults)}")
        succeeded = applied == set(steps) and not undone[saga]
        if succeeded:
            if k is not None:
                problems.append(f"succeeded although {steps[k]} can never succeed")
            if "fail" in answers[saga]:
                problems.append("the client saw a failure of a saga that succeeded")
        else:
            failed += 1
            unplanned += k is None  # e.g. retries used up by crashes: allowed, if clean
            if k is None and not hit(span.get(saga), fault_times):
                problems.append("failed although no step was planned to fail and no fault hit it")
                unexplained += 1
            prefix = next((j for j in range(len(steps) + 1) if set(steps[:j]) == applied), None)
            if prefix is None:
                problems.append(
                    f"steps ran out of order or past a failed one: "
                    f"{[s for s in steps if s in applied]}"
                )
            dangling = applied - set(undone[saga])
            if dangling:
                problems.append(f"left applied: {sorted(dangling)}")
                if not undone[saga]:  # not one compensation: why, from what the client saw
                    never_undone["fail" if "fail" in answers[saga] else "unanswered"] += 1
            again = sorted({s for s in undone[saga] if undone[saga].count(s) > 1})
            if again:
                problems.append(f"compensated more than once: {again}")
            for step in steps:  # each undo gives back what its step took, no more or less
                forward = [
                    e for e in rows[saga] if e["op"] in UNDO and e["key"] == f"{saga}:{step}"
                ]
                undos = [
                    e for e in rows[saga] if e["op"] in undo_ops and e["key"] == f"{saga}:{step}"
                ]
                if forward and undos:
                    compared += 1
                    wrong = unreversed(forward[0], undos)
                    if wrong:
                        problems.append(f"{step} not given back as taken: {'; '.join(wrong)}")
                        mismatched += 1
            order = [steps.index(s) for s in dict.fromkeys(undone[saga]) if s in steps]
            if order != sorted(order, reverse=True):
                problems.append(
                    f"compensations ran in the order "
                    f"{list(dict.fromkeys(undone[saga]))}, not the reverse of "
                    "the steps"
                )
            if "ok" in answers[saga]:
                problems.append("the client saw success of a saga that failed")
        if problems:
            bad.append(
                {
                    "key": saga,
                    **({"cause": "; ".join(causes)} if causes else {}),
                    "problem": "; ".join(problems),
                    "planned_failure": None if k is None else steps[k],
                    "ops": op_ids[saga][:20],
                    "effects": rows[saga],
                }
            )
    n_undo = sum(len(v) for v in undone.values())
    stats = {
        "sagas": len(plan),
        "failed": failed,
        "failed_unplanned": unplanned,
        "failed_unexplained": unexplained,
        "compensations": n_undo,
        "undos_compared": compared,
        "undos_not_as_taken": mismatched,
        "violations": len(bad),
    }
    if bad:
        ops = sorted({e["op"] for v in repeated.values() for e in v})
        causes = [
            duplicates_cause(op, {k: v for k, v in repeated.items() if v[0]["op"] == op}, faults)
            for op in ops
        ]
        if never_undone["fail"]:
            causes.append(
                f"{never_undone['fail']} saga(s) failed, the client was told so, and not one "
                "of their steps was compensated: the service does not undo on that failure"
            )
        if never_undone["unanswered"]:
            causes.append(
                f"{never_undone['unanswered']} saga(s) never ended (no answer to the client) "
                "and left their steps applied: a saga that does not end never compensates "
                "(liveness says why it did not end)"
            )
        if mismatched:
            causes.append(
                f"{mismatched} compensation(s) gave back another amount, resource or account "
                "than their step took: the undo is built from other values than the step's "
                "own effect"
            )
        cause = "; ".join(causes)
        summary = f"{len(bad)} of {len(plan)} sagas broke the saga guarantee"
        return Verdict(NAME, False, summary, stats, bad, cause=cause)
    return Verdict(
        NAME,
        True,
        f"{len(plan)} sagas: {len(plan) - failed} applied every step "
        f"once with no compensation; {failed} failed ({unplanned} without a planned "
        f"failure) and ran {n_undo} compensations, in reverse, once each, nothing left "
        f"half-done; each of the {compared} undone steps given back as it was taken",
        stats,
    )
