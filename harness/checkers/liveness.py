"""Liveness: after heal and the quiesce bound, every invocation of the run completed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from harness.checkers.verdict import Verdict

NAME = "every invocation completed"


def check_liveness(invocations: list[dict[str, Any]]) -> Verdict:
    """`invocations`: Restate's sys_invocation rows of the run's services, taken after the
    quiesce bound (invocations.json)."""
    counts = dict(Counter(r.get("status", "?") for r in invocations))
    stuck = [r for r in invocations if r.get("status") != "completed"]
    stats = {"invocations": len(invocations), "by_status": counts}
    if stuck:
        return Verdict(
            NAME,
            False,
            f"{len(stuck)} of {len(invocations)} invocations never completed",
            stats,
            stuck[:50],
        )
    return Verdict(NAME, True, f"all {len(invocations)} invocations completed", stats)
