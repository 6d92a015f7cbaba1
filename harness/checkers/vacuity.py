"""A run that exercised nothing is not a pass: too few completed operations, or too few
faults that landed where they were aimed, makes the run's verdict unknown.

Too few completed operations counts only when the harness failed to exercise the system
(requests that got no answer at all). When the service answered most requests with errors,
the system failed, and that is a violated guarantee, not an empty run.
"""

from __future__ import annotations

import math
from typing import Any

from harness.checkers.verdict import Verdict, checker
from harness.workload.history import Completed, faults, operations
from harness.workload.subset import kept_fraction

NAME = "the run exercised the system"


def landed(fault: dict[str, Any], pending_until: float | None = None) -> bool:
    """A fault landed if the nemesis recorded so (inside its window after its event, or
    while client requests or Restate invocations were in flight); a fault from before that
    record counts when client requests were in flight. For work that goes on after the
    client's request returned (one-way messages, timers), also one that began before
    `pending_until` (wall time, e.g. the world's last effect of the run), unless it missed
    an event window."""
    if fault.get("window_ms") is not None:
        return bool(fault.get("landed"))
    if fault.get("landed", fault.get("in_flight", 0) > 0):
        return True
    return pending_until is not None and fault["wall"] < pending_until


def answered_failed(result: dict[str, Any] | None) -> bool:
    """The service (through Restate) answered this attempt with an error: an HTTP error
    status, or an answer the contract reads as failed. Not a refused connection or a
    timeout, which a fault causes."""
    if result is None or result.get("type") != "fail":
        return False
    error = str(result.get("error") or "")
    return error.startswith(("HTTP ", "answered as failed"))


def describe(fault: dict[str, Any]) -> str:
    on = f" on {fault['world_key']}" if fault.get("world_key") else ""
    return f"fault {fault.get('fault')} ({fault['kind']} {fault['target']}{on}): {fault['missed']}"


@checker
def check_vacuity(
    records: list[dict[str, Any]],
    min_ok: int,
    min_faults: int,
    pending_until: float | None = None,
    max_failed: float = 0.5,
) -> Verdict:
    """`min_ok` acknowledged operations and `min_faults` landed faults, else unknown. When
    more than `max_failed` of the operations ended failed (the service answered an error),
    the verdict is violated: requests that should have succeeded failed. Both minimums go
    by what the run was given: `min_ok` shrinks with the share of the workload a subset kept
    (`--subset`), `min_faults` to the size of an explicit plan (`--plan`).

    Failed answers: counted: more than `max_failed` of the operations answered with a
    failure is a violation.
    Amounts: none."""
    workloads = [r for r in records if r.get("type") == "workload"]
    min_ok = math.ceil(min_ok * kept_fraction(workloads))
    for w in workloads:
        if w.get("explicit_plan"):
            min_faults = min(min_faults, w.get("faults", min_faults))
    total = ok = failed = timed_out = 0
    errors: list[Completed] = []  # the first 20: a soak's 100k operations stream by
    for op in operations(records):
        total += 1
        ok += op.outcome == "ok"
        timed_out += op.outcome != "ok" and str((op.result or {}).get("error")).startswith(
            "TimeoutError"
        )
        if answered_failed(op.result):
            failed += 1
            if len(errors) < 20:
                errors.append(op)
    starts = [f for f in faults(records) if f["type"] == "fault-start"]
    hits = [f for f in starts if landed(f, pending_until)]
    windowed = [f for f in starts if f.get("window_ms") is not None]
    missed = [f for f in starts if f.get("missed") and not landed(f, pending_until)]
    stats = {
        "ok_ops": ok,
        "failed_ops": failed,
        "faults": len(starts),
        "faults_in_flight": len(hits),
        "window_faults": len(windowed),
        "window_faults_landed": sum(1 for f in windowed if f.get("landed")),
        "min_ok": min_ok,
        "min_faults": min_faults,
        "timed_out_ops": timed_out,
    }
    windows = (
        f"; {stats['window_faults_landed']} of {len(windowed)} window faults landed in their window"
        if windowed
        else ""
    )
    if total and failed / total > max_failed:
        return Verdict(
            NAME,
            False,
            f"requests that should succeed failed: {failed} of {total} operations ended "
            f"with an error from the service (at most {max_failed:.0%} expected), "
            f"{ok} acknowledged",
            stats,
            counterexamples=[
                {
                    "problem": "a request the scenario expects to succeed failed",
                    "ops": [op.op],
                    "key": op.key,
                    "error": (op.result or {}).get("error"),
                }
                for op in errors
            ],
        )
    why = []
    if ok < min_ok:
        why.append(f"only {ok} operations completed (need {min_ok})")
        if timed_out:  # the service's timing, not a fault: say so, not "broken"
            why.append(
                f"{timed_out} of {total} operations ended with the client's wait timing "
                "out: the service answers more slowly than this scenario's client waits "
                "(liveness tells whether their invocations completed later)"
            )
    if len(hits) < min_faults:
        why.append(
            f"only {len(hits)} of {len(starts)} faults landed where they were aimed "
            f"(need {min_faults})" + windows
        )
        why += [describe(f) for f in missed]
        # planned, but not the harness's to make (a URL deployment, a server it does not own)
        why += [
            f"not made: {f['kind']} of {f['target']}: {f['reason']}"
            for f in faults(records)
            if f["type"] == "fault-skipped" and f.get("reason")
        ]
    if why:
        return Verdict(NAME, "unknown", "; ".join(why), stats)
    pending = sum(1 for f in hits if f.get("landed") is False)  # rescued by pending_until
    stats["faults_while_pending"] = pending
    return Verdict(
        NAME,
        True,
        f"{ok} operations completed; {len(hits)} of {len(starts)} faults landed while work "
        "was in flight"
        + (
            f" ({pending} of them with nothing in flight at that moment, but before the last "
            "effect of work still pending: one-way messages, events, timers)"
            if pending
            else ""
        )
        + windows,
        stats,
    )
