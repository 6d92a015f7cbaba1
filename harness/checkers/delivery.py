"""A result delivered by exactly one path: the synchronous answer, or one email.

Per subject (an upload id): the client either got the answer within its bounded wait (an
acknowledged `attach`) or, having given up waiting, asked for the result by email. The
result must reach the user exactly once: one path, never both, never lost; an email carries
the same result the synchronous path would have; the work behind it ran once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checkers.causes import duplicate_cause, duplicates_cause, fault_starts
from harness.checkers.verdict import Verdict, checker, judged
from harness.workload.history import Completed, operations


@checker
def check_one_path(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    sync_handler: str,
    async_handler: str,
    subject_of: Callable[[Completed], str],
    email_key: Callable[[str], str],
    expected: Callable[[str], str],
    name: str = "the result reached the user by exactly one path",
    result: Callable[[Any], Any] = lambda answer: answer,
) -> Verdict:
    """`email_key(subject)`: the world key of the result email (its `resource` is the
    result); `expected(subject)`: the result both paths must carry; `result(answer)`: the
    result a synchronous answer carries.

    complete: every subject's result reached the user, by the answer or an email (lost:
    violated). correct: by one path only, one email at most, with the expected result.

    Failed answers: a synchronous answer that failed did not deliver the result, so the
    email must (exactly one path).
    Amounts: none: the result is compared whole."""
    synced: dict[str, list[Any]] = {}
    asked: dict[str, str] = {}  # subject -> best outcome of the email requests: ok > info
    ops: dict[str, list[int]] = {}
    for o in operations(records):
        handler = o.invoke.get("handler")
        if handler not in (sync_handler, async_handler):
            continue
        s = subject_of(o)
        ops.setdefault(s, []).append(o.op)
        synced.setdefault(s, [])
        if handler == sync_handler and o.outcome == "ok" and o.result:
            synced[s].append(result(o.result["resp"]))
        elif handler == async_handler and o.outcome in ("ok", "info"):
            asked[s] = "ok" if "ok" in (o.outcome, asked.get(s)) else "info"
    emails: dict[str, list[str]] = {}
    effects: dict[str, list[dict[str, Any]]] = {}  # email key -> its effects (for causes)
    for e in ledger["effects"]:
        if e["op"] == "email":
            emails.setdefault(e.get("key") or "", []).append(e.get("resource") or "")
            effects.setdefault(e.get("key") or "", []).append(e)
    faults = fault_starts(records)
    bad = []
    n = {"sync": 0, "email": 0, "both": 0, "lost": 0}
    for s in sorted(synced):
        sent = emails.get(email_key(s), [])
        problems = []
        if len(sent) > 1:
            problems.append(f"emailed {len(sent)} times")
        if synced[s] and sent:
            problems.append("answered synchronously and emailed")
        if asked.get(s) == "ok" and not sent:
            problems.append("email acknowledged, never sent")
        if not synced[s] and not sent and asked.get(s) != "info":
            problems.append("never delivered")
        wrong = [r for r in synced[s] + sent if r != expected(s)]
        if wrong:
            problems.append(f"delivered {wrong[0]!r}, expected {expected(s)!r}")
        n["sync"] += bool(synced[s])
        n["email"] += bool(sent)
        n["both"] += bool(synced[s] and sent)
        n["lost"] += not synced[s] and not sent
        if problems:
            cause = (
                {"cause": duplicate_cause("email", effects[email_key(s)], faults)}
                if len(sent) > 1
                else {}
            )
            bad.append(
                {
                    "key": s,
                    **cause,
                    "problem": "; ".join(problems),
                    "ops": ops[s][:20],
                    "sync_answers": synced[s],
                    "emails": sent,
                }
            )
    stats = {"subjects": len(synced), **n, "violations": len(bad)}
    twice = {email_key(c["key"]): effects[email_key(c["key"])] for c in bad if "cause" in c}
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {len(synced)} results misdelivered",
        f"{len(synced)} results: {n['sync']} answered within the wait, {n['email']} by one "
        "email, none both, none lost",
        cause=duplicates_cause("email", twice, faults) if twice else "",
    )
