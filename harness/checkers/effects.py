"""Checkers of external effects, read off the world's ledger (the ground truth)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from harness.checkers.causes import (
    duplicate_cause,
    duplicates_cause,
    fault_starts,
    not_through_world,
    world_unused,
)
from harness.checkers.verdict import Verdict, checker, judged
from harness.workload.history import Completed, failed_subjects, operations

Ledger = dict[str, list[dict[str, Any]]]


def _by_key(rows: list[dict[str, Any]], op: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if r["op"] == op:
            out[r["key"]].append(r)
    return out


@checker
def check_exactly_once(
    records: list[dict[str, Any]],
    ledger: Ledger,
    op: str,
    handler: str,
    applied: Callable[[Any], bool],
    name: str | None = None,
    key_of: Callable[[Completed], str | None] = lambda o: o.key,
    scope: Callable[[str], bool] = lambda key: True,
    undo: str | None = None,
) -> Verdict:
    """Per business key, effective `op` effects: at most 1 always; exactly 1 when an `ok`
    response says it was applied (`applied(resp)`); 0 when every answer says it was not; at
    most 1 when some request's outcome stayed unknown (an attempt that timed out, then a
    retry with the same idempotency key that got a definite answer, has that answer).
    The business key of a request is its object key, or `key_of(op)`. Only world keys for
    which `scope(key)` holds are checked.

    Failed answers: a key whose every request was answered with a failure the service
    sent (no `ok`, no unknown outcome) must leave no effective `op` at the provider, or
    each reversed by an `undo` effect (a charge refunded); a failure beside other answers
    of the key says nothing about them (another request may have won the key).
    Amounts: counted in effects, not summed (the balances and saga checks sum them)."""
    name = name or f"exactly-once {op}"
    effects = {k: v for k, v in _by_key(ledger["effects"], op).items() if scope(k)}
    calls = {k: v for k, v in _by_key(ledger["calls"], op).items() if scope(k)}
    # per key: True = an ok response says applied; False = every op of the key is ok and
    # none says applied; None = unknown (some outcome unknown): at most one effect
    # a request is its idempotency key (its retries are the same invocation), else its op:
    # a timeout followed by a retry's definite answer is that answer, not unknown
    answers: dict[tuple[str, Any], list[bool | None]] = defaultdict(list)
    op_ids: dict[str, list[int]] = defaultdict(list)
    answered: list[tuple[str, Completed]] = []
    for o in operations(records):
        key = key_of(o) if o.invoke.get("handler") == handler else None
        if key is None:
            continue
        op_ids[key].append(o.op)
        answered.append((key, o))
        if o.outcome == "ok":
            answers[(key, o.idem or o.op)].append(bool(applied(o.result["resp"])))  # type: ignore[index]
        elif o.outcome == "info":
            answers[(key, o.idem or o.op)].append(None)
    undone = {k: len(v) for k, v in _by_key(ledger["effects"], undo).items()} if undo else {}
    said: dict[str, list[bool | None]] = defaultdict(list)
    for (key, _), told in answers.items():
        definite = [x for x in told if x is not None]
        said[key].append(any(definite) if definite else None)
    expect: dict[str, bool | None] = {
        k: True if True in v else (None if None in v else False) for k, v in said.items()
    }
    bad = []
    faults = fault_starts(records)
    duplicated = {k: v for k, v in effects.items() if len(v) > 1}
    failures = failed_subjects(answered)  # every request of the key answered failed
    told_failed = set(failures)
    for key in sorted(set(expect) | set(effects) | told_failed):
        n, want = len(effects.get(key, [])), expect.get(key)
        cause = {}
        if n > 1:
            problem = f"{n} effective {op}s"
            cause = {"cause": duplicate_cause(op, effects[key], faults)}
        elif want is True and n == 0:
            problem = f"acknowledged as applied but no {op} in the ledger"
        elif want is False and n == 1:
            problem = f"acknowledged as not applied but the ledger has a {op}"
        elif key in told_failed and n > undone.get(key, 0):
            kept = f"never reversed by a {undo}" if undo else "left in place"
            problem = f"answered as failed ({failures[key]}) but the ledger has a {op}, {kept}"
        else:
            continue
        bad.append(
            {
                "key": key,
                **cause,
                "problem": problem,
                "ops": op_ids.get(key, [])[:50],
                "effects": effects.get(key, []),
                "calls": calls.get(key, [])[:20],
            }
        )
    n_calls = sum(len(v) for v in calls.values())
    n_effects = sum(len(v) for v in effects.values())
    deduped = sum(1 for v in calls.values() for c in v if c["outcome"] == "duplicate")
    stats = {
        "keys": len(expect),
        "keys_answered_failed": len(told_failed),
        f"{op}_calls": n_calls,
        f"effective_{op}s": n_effects,
        "deduplicated_calls": deduped,
        "violations": len(bad),
    }
    acked = sum(v is True for v in expect.values())
    if world_unused(ledger, (op,)) and acked:
        return Verdict(
            name,
            "unknown",
            f"no {op} call reached the world in the whole run, though {acked} of "
            f"{len(expect)} keys were acknowledged as applied: "
            + not_through_world(f"make its {op}s", "see them"),
            stats,
            bad[:20],
        )
    if expect and not (n_calls or n_effects or acked):  # then nothing can be bad either
        return Verdict(
            name,
            "unknown",
            f"not exercised: none of the {len(expect)} keys' {op} requests was acknowledged "
            f"as applied, and no {op} call reached the world",
            stats,
        )
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {len(expect)} keys violate exactly-once "
        f"{op} ({n_calls} {op} calls, {n_effects} effective)",
        f"{len(expect)} keys, {n_calls} {op} calls to the world "
        f"({deduped} retries deduplicated), {n_effects} effective {op}s, "
        f"0 duplicate {op}s",
        cause=duplicates_cause(op, duplicated, faults) if duplicated else "",
    )


@checker
def check_idempotent_response(
    records: list[dict[str, Any]], handler: str, project: Callable[[Any], Any] = lambda r: r
) -> Verdict:
    """All `ok` responses for one idempotency key are equal (compared through `project`,
    e.g. the invocation id of a one-way send: "Accepted" then "PreviouslyAccepted").

    Failed answers: only `ok` answers are compared; a failure beside an `ok` of the same
    key is not flagged here (exactly-once judges what the failure left).
    Amounts: whole answers are compared, amounts included."""
    name = f"idempotent response ({handler})"
    seen: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    for o in operations(records):
        if o.invoke.get("handler") == handler and o.idem and o.outcome == "ok":
            seen[o.idem].append((o.op, project(o.result["resp"])))  # type: ignore[index]
    bad = []
    for idem, answers in sorted(seen.items()):
        distinct = {json.dumps(r, sort_keys=True) for _, r in answers}
        if len(distinct) > 1:
            bad.append(
                {
                    "idem": idem,
                    "problem": f"{len(distinct)} different answers",
                    "ops": [o for o, _ in answers],
                    "responses": [r for _, r in answers][:10],
                }
            )
    repeated = sum(1 for a in seen.values() if len(a) > 1)
    stats = {"keys": len(seen), "keys_answered_more_than_once": repeated, "violations": len(bad)}
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} idempotency keys got different answers",
        f"{len(seen)} idempotency keys, {repeated} answered more than "
        "once, always with the same answer",
    )


@checker
def check_balances(ledger: Ledger, expected: dict[str, int]) -> Verdict:
    """Money conservation: every account's balance is what the model says.

    Failed answers: not read here: the scenario's model gives the balances, and a
    payment read (or answered) as failed must have left its account untouched.
    Amounts: every account's balance against the model, to the unit."""
    name = "money conserved"
    actual = {r["account"]: r["balance"] for r in ledger["balances"]}
    bad = [
        {"account": a, "expected": e, "actual": actual.get(a), "diff": (actual.get(a) or 0) - e}
        for a, e in sorted(expected.items())
        if actual.get(a) != e
    ]
    stats = {
        "accounts": len(expected),
        "expected_total": sum(expected.values()),
        "actual_total": sum(actual.get(a, 0) for a in expected),
        "violations": len(bad),
    }
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {len(expected)} account balances differ from the model (total off "
        f"by {stats['actual_total'] - stats['expected_total']})",
        f"{len(expected)} account balances match the model (total {stats['actual_total']})",
    )


@checker
def check_single_winner(
    records: list[dict[str, Any]], handler: str, won: Callable[[Any], bool], name: str
) -> Verdict:
    """Per object key, at most one idempotency key is acknowledged as the winner.

    Failed answers: only `ok` answers that say they won are counted; losers may fail.
    Amounts: none."""
    winners: dict[str, dict[str, int]] = defaultdict(dict)
    for o in operations(records):
        ok = o.invoke.get("handler") == handler and o.outcome == "ok" and o.idem
        if ok and won(o.result["resp"]):  # type: ignore[index]
            winners[o.key or ""].setdefault(o.idem, o.op)  # type: ignore[arg-type]
    bad = [
        {
            "key": k,
            "problem": f"{len(w)} acknowledged winners",
            "winners": sorted(w),
            "ops": sorted(w.values()),
        }
        for k, w in sorted(winners.items())
        if len(w) > 1
    ]
    stats = {"keys_won": len(winners), "violations": len(bad)}
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} keys have more than one acknowledged winner",
        f"{len(winners)} keys, each with exactly one acknowledged winner",
    )
