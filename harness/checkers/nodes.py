"""A cluster node's kill is survived in time: every request in flight when a node was
killed got its answer within the bound Restate's own cluster chaos test allows a restart
(10 s). Every run on the cluster topology gets it."""

from __future__ import annotations

from typing import Any

from harness.checkers.verdict import Verdict, checker
from harness.workload.history import node_recovery, percentile

NAME = "the cluster recovered from node kills in time"
# Restate's own cluster chaos test allows this long per restart
RECOVERY_BOUND = 10.0


@checker
def check_node_recovery(records: list[dict[str, Any]], bound: float = RECOVERY_BOUND) -> Verdict:
    """complete: every request in flight at a node kill was answered (one never answered
    is a violation, with the kill it waited behind). correct: the last of them was answered
    within `bound` seconds of the kill (measured by the harness's clock, from the fault
    record to the first answer of each request, retries included). No node kill that found
    requests in flight: unknown."""
    kills = [k for k in node_recovery(records) if k["in_flight"]]
    if not kills:
        return Verdict(NAME, "unknown", "no node kill found requests in flight", id="nodes")
    times = [k["after"] for k in kills if k["after"] is not None]
    stats = {
        "kills": len(kills),
        "p50_s": percentile(times, 50) if times else None,
        "max_s": max(times) if times else None,
        "bound_s": bound,
    }
    bad = [k for k in kills if k["unanswered"] or (k["after"] or 0) > bound]
    summary = (
        f"{len(kills)} node kill(s) with requests in flight; all answered within "
        f"p50 {stats['p50_s']} s, max {stats['max_s']} s of the kill (bound {bound:g} s)"
    )
    if bad:
        lost = sum(k["unanswered"] for k in bad)
        summary = (
            f"{len(bad)} of {len(kills)} node kill(s) left requests unanswered ({lost} "
            f"never answered) or answered later than {bound:g} s (max {stats['max_s']} s)"
        )
    return Verdict(NAME, not bad, summary, stats=stats, counterexamples=bad[:20], id="nodes")
