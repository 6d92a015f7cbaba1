"""A cluster node's kill is survived in time: every request in flight when a node was
killed got its answer within a bound measured from the run. Every run on the cluster
topology gets it.

The run measures, per node fault (the history's fault-end record): `failover_s`, when the
other nodes served every partition without it (probed through a live node's ingress while
it was down, harness/runtime/serving.py), and `unavailable_s`, when the node itself served
again. A request in flight at the kill waits for whichever came first, plus one attempt's
timeout (a request sent to the dead leader hangs until the client gives up on that attempt
and retries on another node), a retry interval, and the run's baseline (the 99th
percentile of requests no fault touched). A node down for FAILOVER_ALLOWANCE without the
others taking over its partitions is an outage: the cluster did not fail over.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.bounds import (
    LatenessBounds,
    answered_spans,
    retry_interval,
    unavailability,
    union_within,
)
from harness.checkers.verdict import Verdict, checker
from harness.workload.history import node_recovery, percentile

NAME = "the cluster recovered from node kills in time"
# Restate's own cluster chaos test allows a node restart this long (restatedev/restate PR
# #4878): a node down longer without the others taking over its partitions is an outage
FAILOVER_ALLOWANCE = 30.0
ATTEMPT_S = 5.0  # the client's attempt timeout on a cluster, where run.json does not say


@checker
def check_node_recovery(records: list[dict[str, Any]], manifest: dict[str, Any]) -> Verdict:
    """complete: every request in flight at a node kill was answered (one never answered
    is a violation, with the kill it waited behind). correct: the last of them was answered
    within the kill's measured bound (the module's docstring), and no node stayed down
    FAILOVER_ALLOWANCE seconds without the cluster failing over. Clock: the harness's,
    from the fault record to each request's first answer, retries included. No node kill
    that found requests in flight: unknown."""
    kills = [k for k in node_recovery(records) if k["in_flight"]]
    if not kills:
        return Verdict(NAME, "unknown", "no node kill found requests in flight", id="nodes")
    ends = {r["fault"]: r for r in records if r["type"] == "fault-end" and "fault" in r}
    spans = unavailability(records)
    free = [b - a for a, b in answered_spans(records) if not union_within(spans, a, b)]
    baseline = percentile(free, 99) if free else 0.0
    attempt = float(manifest.get("client", {}).get("attempt_timeout_s", ATTEMPT_S))
    retry = retry_interval(manifest)
    lags = LatenessBounds(records, manifest, [])  # the harness's own stalls, by wall clock
    starts = {r["fault"]: r for r in records if r["type"] == "fault-start" and "fault" in r}
    bad, unjudged, failed_over = [], [], 0
    for k in kills:
        end = ends.get(k["fault"], {})
        failover, down = end.get("failover_s"), end.get("unavailable_s")
        waited = failover if failover is not None else down
        failed_over += failover is not None
        k.update(failover_s=failover, node_unavailable_s=down)
        if waited is None:  # the node never came back: nothing to measure from
            k["bound_s"] = None
        else:
            k["bound_s"] = round(waited + attempt + retry + baseline, 3)
            k["bound"] = (
                f"{'failover' if failover is not None else 'the node back'} after "
                f"{waited:.2f}s + {attempt:g}s attempt timeout + {retry:g}s retry + "
                f"{baseline:.2f}s baseline (p99 of {len(free)} requests no fault touched)"
            )
        problems = []
        if k["unanswered"]:
            problems.append(f"{k['unanswered']} request(s) in flight never answered")
        if failover is None and down is not None and down >= FAILOVER_ALLOWANCE:
            problems.append(
                f"{k['target']} was down {down:.1f}s and the other nodes never served its "
                f"partitions (Restate's own chaos test allows {FAILOVER_ALLOWANCE:g}s)"
            )
        if k["after"] is not None and k["bound_s"] is not None and k["after"] > k["bound_s"]:
            late = f"answered {k['after']:.2f}s after the kill ({k['bound']})"
            at = starts.get(k["fault"], {}).get("wall", 0.0)
            stalled = lags.lag_within(at, at + k["after"])
            if stalled >= k["after"] - k["bound_s"] and not problems:
                unjudged.append(
                    {**k, "problem": f"{late}; the harness itself was stalled {stalled:.2f}s "
                     "then, which could explain the excess"}
                )  # fmt: skip
            else:
                problems.append(late)
        if problems:
            bad.append({**k, "problem": "; ".join(problems)})
    times = [k["after"] for k in kills if k["after"] is not None]
    stats = {
        "kills": len(kills),
        "failed_over": failed_over,
        "p50_s": percentile(times, 50) if times else None,
        "max_s": max(times) if times else None,
        "bounds_s": [k["bound_s"] for k in kills],
        "failover_allowance_s": FAILOVER_ALLOWANCE,
    }
    summary = (
        f"{len(kills)} node kill(s) with requests in flight ({failed_over} failed over to "
        f"the other nodes while down); all answered within p50 {stats['p50_s']} s, max "
        f"{stats['max_s']} s of the kill, each within its measured bound "
        f"(failover or the node back + attempt timeout + retry + baseline)"
    )
    if bad:
        summary = f"{len(bad)} of {len(kills)} node kill(s): {bad[0]['problem']}"
    elif unjudged:
        summary = (
            f"{len(unjudged)} of {len(kills)} node kill(s) not judged: {unjudged[0]['problem']}"
        )
        return Verdict(NAME, "unknown", summary, stats=stats, counterexamples=unjudged, id="nodes")
    return Verdict(NAME, not bad, summary, stats=stats, counterexamples=bad[:20], id="nodes")
