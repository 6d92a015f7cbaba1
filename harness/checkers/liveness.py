"""Liveness, no wedged key: after heal and the quiesce bound, every invocation of the run
completed, nothing retries for ever, nothing waits behind such an invocation, and every
final read answered. Needs no knowledge of the service's API, so every run gets it."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from harness.checkers.determinism import invocation_evidence
from harness.checkers.horizon import after_run, later_summary
from harness.checkers.verdict import Verdict, checker
from harness.runtime.admin import failed_an_attempt, journal_mismatch
from harness.workload.history import operations

NAME = "every invocation completed, no key wedged"
RETRYING = ("backing-off", "running")  # an attempt failed, or is still being made


def failed_reads(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check-phase reads (made after heal) that never got an answer: a read answered on a
    later attempt (one slow or refused before) is not one."""
    reads = [o for o in operations(records) if o.invoke.get("check_read")]

    def what(o: Any) -> tuple[Any, ...]:
        return o.invoke.get("service"), o.invoke.get("handler"), o.invoke.get("key")

    answered = {what(o) for o in reads if o.outcome == "ok"}
    return [
        {
            "problem": f"final read got no answer after heal: {(o.result or {}).get('error')}",
            "key": o.invoke.get("key"),
            "target": f"{o.invoke.get('service')}/{o.invoke.get('handler')}",
            "ops": [o.op],
        }
        for o in reads
        if o.outcome != "ok" and what(o) not in answered
    ]


@checker
def check_liveness(
    invocations: list[dict[str, Any]],
    records: list[dict[str, Any]] = (),  # type: ignore[assignment]
    journal: list[dict[str, Any]] = (),  # type: ignore[assignment]
    observed_until: float | None = None,
) -> Verdict:
    """`invocations`: Restate's sys_invocation rows of the run's services after the quiesce
    bound (invocations.json). An invocation that failed an attempt and is still not done
    wedges its key: the invocations queued behind it on that key are listed with it. One
    waiting for a time after `observed_until` (a sleep, a delayed call: its row's
    `waiting_until`) is due after the run, not stuck, and so is what queues behind it.
    A failure still retried after every fault healed is named for what it likely is: a
    journal mismatch, or a permanent failure the service answers as retryable.

    Failed answers: not read: every invocation Restate holds must end, whatever the
    client was told.
    Amounts: none."""
    counts = dict(Counter(r.get("status", "?") for r in invocations))
    stuck = [r for r in invocations if r.get("status") != "completed"]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in stuck:  # one group per object key; keyless invocations stand alone
        key = r.get("target_service_key")
        groups[f"{r.get('target_service_name')}/{key}" if key is not None else r.get("id")].append(
            r
        )
    later: list[dict[str, Any]] = []  # due after the run, or queued behind one that is
    for name, group in list(groups.items()):
        due = any(after_run(r.get("waiting_until", 0), observed_until) for r in group)
        if due and not any(failed_an_attempt(r) for r in group):
            later += group
            del groups[name]
    examples = []
    wedged_keys = 0
    permanent = 0
    for group in groups.values():
        heads = [r for r in group if r.get("status") in RETRYING or r.get("retry_count")]
        waiting = [r for r in group if r not in heads]
        if heads and waiting:
            wedged_keys += 1
        for r in heads or group:
            failure = (r.get("last_failure") or "?").splitlines()[0][:200]
            if not failed_an_attempt(r):
                problem = f"never completed (status {r.get('status')})"
            elif journal_mismatch(r):
                problem = (
                    f"fails with a journal mismatch on every replay (attempt "
                    f"{r.get('retry_count')}): {failure}"
                )
            else:
                permanent += 1
                problem = (
                    f"retries a failure for ever (attempt {r.get('retry_count')}, still "
                    "failing after every fault healed: a permanent failure answered as "
                    f"retryable; make it terminal or bound its retries): {failure}"
                )
            blocked = [q.get("id") for q in waiting] if heads else []
            examples.append(
                {
                    "problem": problem,
                    **invocation_evidence(r, journal),
                    "blocked_behind_it": blocked,
                }
            )
    stuck = [r for r in stuck if r not in later]
    reads = failed_reads(records)
    stats = {
        "invocations": len(invocations),
        "by_status": counts,
        "wedged_keys": wedged_keys,
        "retrying_permanent_failures": permanent,
        "due_after_run": len(later),
        "failed_final_reads": len(reads),
    }
    waits = [r["waiting_until"] for r in later if "waiting_until" in r]
    deferred = later_summary(len(later), len(invocations), waits, observed_until, "invocations")
    if stuck or reads:
        parts = []
        if stuck:
            parts.append(f"{len(stuck)} of {len(invocations)} invocations never completed")
        if permanent:
            parts.append(f"{permanent} retry a failure that outlived every fault")
        if wedged_keys:
            parts.append(f"{wedged_keys} key(s) wedged with invocations queued behind them")
        if reads:
            parts.append(f"{len(reads)} final read(s) got no answer")
        summary = "; ".join(parts) + deferred
        cause = ""
        if permanent:
            first = next(e for e in examples if "permanent failure" in e["problem"])
            cause = (
                f"{permanent} invocation(s) retry a failure that outlived every fault: a "
                "permanent failure the service answers as retryable (make it terminal, or "
                f"bound its retries); the first: {first['error'][:200]}"
            )
        quiet = sum(e["problem"].startswith("never completed") for e in examples)
        if not cause and quiet:
            cause = (
                f"{quiet} invocation(s) never failed an attempt and never ended: they wait "
                "for something that did not come (an awakeable or promise never resolved, a "
                "call that never answered, a step that does not end), or their deployment "
                "never answers Restate at all (its log says why)"
            )
        return Verdict(NAME, False, summary, stats, (examples + reads)[:100], cause=cause)
    done = len(invocations) - len(later)
    if later and not done:
        return Verdict(NAME, "unknown", f"none completed within the run{deferred}", stats)
    return Verdict(
        NAME, True, f"all {done} invocations due within the run completed{deferred}", stats
    )
