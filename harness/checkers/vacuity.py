"""A run that exercised nothing is not a pass: too few completed operations, or no fault
that landed while requests were in flight, makes the run's verdict unknown."""

from __future__ import annotations

from typing import Any

from harness.checkers.verdict import Verdict, checker
from harness.workload.history import faults, operations

NAME = "the run exercised the system"


@checker
def check_vacuity(
    records: list[dict[str, Any]], min_ok: int, min_faults: int, pending_until: float | None = None
) -> Verdict:
    """A fault landed if client requests were in flight when it began, or, for work that
    goes on after the client's request returned (one-way messages, timers), if it began
    before `pending_until` (wall time, e.g. the world's last effect of the run)."""
    ok = sum(1 for op in operations(records) if op.outcome == "ok")
    starts = [f for f in faults(records) if f["type"] == "fault-start"]
    landed = [
        f
        for f in starts
        if f.get("in_flight", 0) > 0 or (pending_until is not None and f["wall"] < pending_until)
    ]
    stats = {
        "ok_ops": ok,
        "faults": len(starts),
        "faults_in_flight": len(landed),
        "min_ok": min_ok,
        "min_faults": min_faults,
    }
    why = []
    if ok < min_ok:
        why.append(f"only {ok} operations completed (need {min_ok})")
    if len(landed) < min_faults:
        why.append(
            f"only {len(landed)} of {len(starts)} faults hit requests in flight (need {min_faults})"
        )
    if why:
        return Verdict(NAME, "unknown", "; ".join(why), stats)
    return Verdict(
        NAME,
        True,
        f"{ok} operations completed; {len(landed)} faults landed while requests were in flight",
        stats,
    )
