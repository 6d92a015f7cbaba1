"""Liveness: after heal, every invocation of the run completed within the quiesce bound."""

from __future__ import annotations

from typing import Any

from harness.checkers.verdict import Verdict

NAME = "every invocation completed"


def check_liveness(
    stuck: list[dict[str, Any]], counts: dict[str, int], waited: float | None
) -> Verdict:
    """`stuck`: non-completed invocations after the bound; `counts`: invocations by status."""
    total = sum(counts.values())
    stats = {"invocations": total, "by_status": counts, "quiesce_seconds": waited}
    if stuck:
        return Verdict(
            NAME, False, f"{len(stuck)} of {total} invocations never completed", stats, stuck[:50]
        )
    return Verdict(
        NAME,
        True,
        f"all {total} invocations completed"
        + (f", {waited:.1f}s after heal" if waited is not None else ""),
        stats,
    )
