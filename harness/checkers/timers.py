"""Durable timers: each fires once, not before it is due, and within a bound after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checkers.bounds import LatenessBounds
from harness.checkers.causes import not_through_world, world_unused
from harness.checkers.horizon import after_run, later_summary, observed_until
from harness.checkers.verdict import Verdict, checker
from harness.workload.history import Completed, failed_subjects, operations


def spanning_faults(waits: list[list[float]], records: list[dict[str, Any]]) -> int:
    """How many waits had a fault start while they were pending (a kill inside the wait)."""
    starts = [r["wall"] for r in records if r["type"] == "fault-start"]
    return sum(1 for a, b in waits if any(a < s < b for s in starts))


def waits_summary(waits: list[list[float]], spanning: int) -> str:
    return f"{spanning} of {len(waits)} waits spanned a fault"


@checker
def check_timers(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    handler: str | tuple[str, ...],
    timer_of: Callable[[Completed], tuple[str, float]],
    manifest: dict[str, Any],
    name: str = "timers fired once, on time",
) -> Verdict:
    """`timer_of(op)` -> (world key the timer's effect lands on, its delay in seconds);
    `manifest`: the run's run.json (the retry policy the bound uses).

    The timer is set by the request, so it is due no earlier than the first attempt's send
    time + delay, and no later than the last answer's time + delay. It must take effect
    once for an acknowledged request (at most once when the outcome is unknown), never
    before its earliest due time, and no later after its latest due time than the bound the
    run measured (harness/checkers/bounds.py: the unavailability once it was due, the
    catch-up after the longest outage, a retry per fault, the lateness of timers no fault
    touched), named in each counterexample.

    A timer not fired and due after the run's end (run.json `observed_until`) is due
    after the run: counted and not judged; if no timer was due within the run, unknown.

    complete: every acknowledged request's timer fired (missing: violated). correct: once,
    not early, not later than its bound (beyond it while the harness itself was stalled:
    unknown). Clock: the client's, from the history (the request's send and answer times),
    against the world's record of the effect, both wall clock on this one machine.

    Failed answers: a timer whose every request was answered with a failure (a terminal
    error the service sent) must never fire: the client was told it was not set.
    Amounts: none."""
    fired: dict[str, list[float]] = {}
    for e in ledger["effects"]:
        fired.setdefault(e.get("key") or "", []).append(e["wall"])
    window: dict[str, list[float]] = {}  # key -> [earliest due, latest due]
    set_at: dict[str, float] = {}  # key -> first send of the request that set the timer
    acked: set[str] = set()
    requests: list[tuple[str, Completed]] = []
    ops: dict[str, list[int]] = {}
    for o in operations(records):
        if o.invoke.get("handler") not in ((handler,) if isinstance(handler, str) else handler):
            continue
        key, delay = timer_of(o)
        ops.setdefault(key, []).append(o.op)
        sent = o.invoke["wall"] + delay
        # the timer was set before the answer; without an answer, no upper bound is known
        last = o.result["wall"] + delay if o.outcome == "ok" and o.result else float("inf")
        set_at[key] = min(set_at.get(key, o.invoke["wall"]), o.invoke["wall"])
        w = window.setdefault(key, [sent, last])
        w[0], w[1] = min(w[0], sent), max(w[1], last)
        if o.outcome == "ok":
            acked.add(key)
        requests.append((key, o))
    refused = failed_subjects(requests)  # every request that would set it answered failed
    waits = [[set_at[k], min(fired[k])] for k in sorted(window) if fired.get(k)]
    late_of = {
        k: min(fired[k]) - window[k][1]
        for k in window
        if fired.get(k) and window[k][1] != float("inf")
    }
    bounds = LatenessBounds(
        records, manifest, [(set_at[k], min(fired[k]), late_of[k]) for k in late_of]
    )
    bad, unjudged = [], []
    margins, lateness = [], []
    until = observed_until(manifest)
    later = {k: w[0] for k, w in window.items() if not fired.get(k) and after_run(w[0], until)}
    for key, (earliest, latest) in sorted(window.items()):
        times = sorted(fired.get(key, []))
        problems = []
        if key in later:
            continue
        if len(times) > 1:
            problems.append(f"fired {len(times)} times")
        if key in acked and not times:
            problems.append("never fired")
        if key in refused and times:
            problems.append("fired, but every request that set it was answered as failed")
        for t in times:
            margins.append(t - earliest)
            lateness.append(t - latest)
            if t < earliest:
                problems.append(f"fired {earliest - t:.3f}s before it was due")
        evidence = {"ops": ops[key][:20], "due_from": earliest, "due_until": latest,
                    "fired_at": times}  # fmt: skip
        if key in late_of and late_of[key] > 0:
            # a durable timer is delayed only by what happens once it is due (the latest it
            # could be: a fault that delayed the request that set it delayed its answer too)
            judged = bounds.judge(latest, times[0], late_of[key])
            late = (
                f"fired {late_of[key]:.2f}s after it was due "
                f"(bound {judged.bound:.2f}s: {judged.why})"
            )
            if judged.valid is False:
                problems.append(late)
            elif judged.valid == "unknown":
                unjudged.append({"key": key, "problem": late, **evidence})
        if problems:
            bad.append({"key": key, "problem": "; ".join(problems), **evidence})
    stats = {
        "timers": len(window),
        "acknowledged": len(acked),
        "fired": sum(len(fired.get(k, [])) for k in window),
        "min_margin_s": round(min(margins), 3) if margins else None,
        "max_late_s": round(max(lateness), 3) if lateness else None,
        "waits_spanning_faults": spanning_faults(waits, records),
        "violations": len(bad),
        "late_unjudged": len(unjudged),
        "due_after_run": len(later),
        "lateness_bound": bounds.summary(),
    }
    deferred = later_summary(len(later), len(window), later.values(), until, "timers")
    if bad and world_unused(ledger):
        return Verdict(
            name,
            "unknown",
            f"not one call reached the world in the whole run, though {len(acked)} timers "
            "were set by acknowledged requests: "
            + not_through_world("make the timers' effects", "see them fire"),
            stats,
            bad[:20],
        )
    if bad:
        msg = f"{len(bad)} of {len(window)} timers misfired{deferred}"
        return Verdict(name, False, msg, stats, bad, waits=waits)
    if later and len(later) == len(window):
        return Verdict(name, "unknown", f"no timer was due within the run{deferred}", stats)
    if unjudged:
        return Verdict(
            name,
            "unknown",
            f"{len(unjudged)} of {len(window)} timers fired later than the run's measured "
            f"bound, which could not judge them: {unjudged[0]['problem']}{deferred}",
            stats,
            unjudged,
            waits=waits,
        )
    return Verdict(
        name,
        True,
        f"{stats['fired']} of {len(window)} timers fired once, none early, at most "
        f"{stats['max_late_s']}s after due, each within its measured bound "
        f"({bounds.describe()}); {waits_summary(waits, stats['waits_spanning_faults'])}"
        f"{deferred}",
        stats,
        waits=waits,
    )
