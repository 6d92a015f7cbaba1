"""Liveness, no wedged key: after heal and the quiesce bound, every invocation of the run
completed, nothing retries for ever, nothing waits behind such an invocation, and every
final read answered. Needs no knowledge of the service's API, so every run gets it."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from harness.checkers.determinism import invocation_evidence
from harness.checkers.verdict import Verdict, checker
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
) -> Verdict:
    """`invocations`: Restate's sys_invocation rows of the run's services after the quiesce
    bound (invocations.json). An invocation that failed an attempt and is still not done
    wedges its key: the invocations queued behind it on that key are listed with it."""
    counts = dict(Counter(r.get("status", "?") for r in invocations))
    stuck = [r for r in invocations if r.get("status") != "completed"]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in stuck:  # one group per object key; keyless invocations stand alone
        key = r.get("target_service_key")
        groups[f"{r.get('target_service_name')}/{key}" if key is not None else r.get("id")].append(
            r
        )
    examples = []
    wedged_keys = 0
    for group in groups.values():
        heads = [r for r in group if r.get("status") in RETRYING or r.get("retry_count")]
        waiting = [r for r in group if r not in heads]
        if heads and waiting:
            wedged_keys += 1
        for r in heads or group:
            problem = (
                f"retrying for ever (attempt {r.get('retry_count')}): "
                f"{(r.get('last_failure') or '?').splitlines()[0][:200]}"
                if r.get("retry_count")
                else f"never completed (status {r.get('status')})"
            )
            blocked = [q.get("id") for q in waiting] if heads else []
            examples.append(
                {
                    "problem": problem,
                    **invocation_evidence(r, journal),
                    "blocked_behind_it": blocked,
                }
            )
    reads = failed_reads(records)
    stats = {
        "invocations": len(invocations),
        "by_status": counts,
        "wedged_keys": wedged_keys,
        "failed_final_reads": len(reads),
    }
    if stuck or reads:
        parts = []
        if stuck:
            parts.append(f"{len(stuck)} of {len(invocations)} invocations never completed")
        if wedged_keys:
            parts.append(f"{wedged_keys} key(s) wedged with invocations queued behind them")
        if reads:
            parts.append(f"{len(reads)} final read(s) got no answer")
        return Verdict(NAME, False, "; ".join(parts), stats, (examples + reads)[:100])
    return Verdict(NAME, True, f"all {len(invocations)} invocations completed", stats)
