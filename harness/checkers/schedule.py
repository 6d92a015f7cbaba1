"""Scheduled reminders with escalation, stopped by a success (the payment tracker shape).

Per subject (an invoice): reminders numbered 1..N land in the ledger in order, each once,
each at least `interval` after the one before (the timer starts after the reminder) and
late by no more than the run measured (harness/checkers/bounds.py); after N reminders
comes one escalation, again after `interval`. A success stops the schedule: nothing lands
after the success was recorded. Without a success the whole schedule runs: N reminders
and exactly one escalation.

Clocks: the schedule's start and "nothing after the success" are taken from the client's
side, the history: a schedule starts when its first event was sent, and a success counts
from when Restate accepted the success event, plus the delay it was sent with (when it came
due). No reminder may come due after that. The service's own "paid" record is extra
evidence only (nothing after it either): a service that queues the success behind its own
work moves that record, and a check measured from it would move with it. All times are
wall clock on this one machine (the world's and the harness's), within CLOCK_SLACK.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from harness.checkers.bounds import LatenessBounds
from harness.checkers.causes import not_through_world, world_unused
from harness.checkers.horizon import after_run, later_summary, observed_until
from harness.checkers.timers import spanning_faults, waits_summary
from harness.checkers.verdict import Verdict, checker
from harness.workload.history import Completed, operations

CLOCK_SLACK = 0.005  # one machine, one clock: only rounding of the recorded walls


@checker
def check_schedule(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    start_handler: str,
    subject_of: Callable[[Completed], str],
    reminders: int,
    interval: float,
    manifest: dict[str, Any],
    name: str = "reminders on schedule, none after success, one escalation",
    stop_handler: str | None = None,
    each_start_reminds: bool = False,
) -> Verdict:
    """World keys: "<subject>:reminder" (resource = the reminder's number, if the service
    says it),
    "<subject>:escalation", "<subject>:paid". `stop_handler`: the client's success event
    (its acceptance by Restate, plus its send delay, is when the schedule must stop).
    `manifest`: the run's run.json (the retry policy the lateness bound uses).

    complete: an acknowledged schedule without a success ran all its reminders and one
    escalation. correct: in order, once each, not early and not later than the bound the
    run measured for each step (harness/checkers/bounds.py: the unavailability in its
    wait, a retry per fault, the lateness of steps no fault touched; beyond it while the
    harness itself was stalled: unknown), and none came due after the success was accepted
    and due (nor landed after the service recorded it). `each_start_reminds`: every start
    event the service accepts sends the next reminder at once (a service that reminds per
    failure event), so a step is also due when a later start event came due.

    Failed answers: a start answered with a failure is not required to remind; its
    reminders, if any, are held to order, once each, and the bound.
    Amounts: none."""
    started: dict[str, float] = {}  # subject -> first send of the start event
    acked: set[str] = set()
    success_due: dict[str, float] = {}  # subject -> when Restate had the success, and it was due
    start_dues: dict[str, dict[str, float]] = {}  # subject -> start event -> when it came due
    success_earliest: dict[str, float] = {}  # subject -> the soonest the success could be due
    start_latest: dict[str, float] = {}  # subject -> the latest its first start was accepted
    for o in operations(records):
        delay = (o.invoke.get("delay_ms") or 0) / 1000  # a delayed send comes due this late
        if stop_handler and o.invoke.get("handler") == stop_handler and o.outcome == "ok":
            due = o.result["wall"] + delay  # type: ignore[index]
            s = subject_of(o)
            success_due[s] = min(success_due.get(s, due), due)
            soonest = o.invoke["wall"] + delay
            success_earliest[s] = min(success_earliest.get(s, soonest), soonest)
        if o.invoke.get("handler") != start_handler:
            continue
        s = subject_of(o)
        started[s] = min(started.get(s, o.invoke["wall"]), o.invoke["wall"])
        if o.outcome == "ok":
            acked.add(s)
            accepted = o.result["wall"]  # type: ignore[index]
            start_latest[s] = min(start_latest.get(s, accepted), accepted)
            # the earliest it could come due: Restate may have accepted it as it was sent;
            # one per event (a redelivery has its idempotency key, and is the same event)
            due = o.invoke["wall"] + delay
            dues = start_dues.setdefault(s, {})
            event_id = o.invoke.get("idem") or str(o.op)
            dues[event_id] = min(dues.get(event_id, due), due)
    landed: dict[str, dict[str, list[tuple[float, str]]]] = {}
    for e in ledger["effects"]:
        subject, _, kind = (e.get("key") or "").rpartition(":")
        if subject in started and kind in ("reminder", "escalation", "paid"):
            landed.setdefault(subject, {}).setdefault(kind, []).append(
                (e["wall"], e.get("resource") or "")
            )
    # every step after the first waited `interval` after the one before: the waits no
    # fault touched give the run's baseline lateness
    steps_of = {s: _steps(landed.get(s, {})) for s in started}
    bounds = LatenessBounds(
        records,
        manifest,
        [(a, b, b - a - interval) for steps in steps_of.values() for a, b in pairwise(steps)],
    )
    bad, unjudged = [], []
    totals = {
        "reminders": 0,
        "escalations": 0,
        "paid": 0,
        "stopped_by_success": 0,
        "timers_fired": 0,  # steps after the first: each came from a delayed message
    }
    gaps: list[float] = []
    until = observed_until(manifest)
    later: dict[str, float] = {}  # subject -> its next step, due after the run
    waits: list[list[float]] = []  # each delayed message: from the step before to its step
    for s in sorted(started):
        got = landed.get(s, {})
        sent = sorted(got.get("reminder", []))
        escalations = sorted(w for w, _ in got.get("escalation", []))
        paid = min((w for w, _ in got.get("paid", [])), default=None)
        totals["reminders"] += len(sent)
        totals["escalations"] += len(escalations)
        totals["paid"] += paid is not None
        problems = []
        numbers = [n for _, n in sent]
        # a service whose reminders carry no number (restatedev/examples' TypeScript tracker)
        # is held to their count and times only
        if any(numbers) and numbers != [str(i) for i in range(1, len(sent) + 1)]:
            problems.append(f"reminders landed as {numbers}, not 1..{len(sent)} once each")
        if len(sent) > reminders:
            problems.append(f"{len(sent)} reminders, at most {reminders} expected")
        if len(escalations) > 1:
            problems.append(f"escalated {len(escalations)} times")
        # the schedule: start -> reminder 1 -> ... -> reminder N -> escalation
        steps = steps_of[s]
        totals["timers_fired"] += max(0, len(steps) - 1)
        prev, first = started[s], True
        # each start event sends one step at once (the first event: the first step); a step
        # may land after a later one came due (the object's calls queue)
        events = sorted(start_dues.get(s, {}).values())[1:] if each_start_reminds else []
        due_at = []  # when each step came due: the start, an event, or the step before + interval
        for w in steps:
            low = prev if first else prev + interval
            event = next((d for d in events if d <= w + CLOCK_SLACK), None)
            if not first and event is not None and w < low - CLOCK_SLACK:
                events.remove(event)  # the step of that event: neither early nor late
                due_at.append(event)
                prev = w
                continue
            due_at.append(low)
            if w < low - CLOCK_SLACK:
                problems.append(f"fired {low - w:.3f}s before it was due")
            elif not first:
                gaps.append(w - prev)
                waits.append([prev, w])
                late = w - prev - interval
                judged = bounds.judge(prev, w, late)
                if judged.valid is not True:
                    said = f"fired {late:.2f}s late (bound {judged.bound:.2f}s: {judged.why})"
                    if judged.valid is False:
                        problems.append(said)
                    else:
                        unjudged.append({"key": s, "problem": said, "step_at": w})
            prev, first = w, False
        success = success_due.get(s)
        if success is not None:
            late = [w for w, due in zip(steps, due_at, strict=True) if due > success + CLOCK_SLACK]
            if late:
                problems.append(
                    f"{len(late)} reminder(s)/escalation came due after the success was accepted "
                    f"and due (client's clock)"
                )
        if paid is not None:
            after = [w for w in steps if w > paid]
            if after:
                problems.append(f"{len(after)} reminder(s)/escalation after the payment succeeded")
            elif len(steps) < reminders + 1:
                totals["stopped_by_success"] += 1
        elif s in acked and (len(sent) != reminders or len(escalations) != 1):
            next_due = steps[-1] + interval if steps else start_latest[s]
            if len(steps) < reminders + 1 and after_run(next_due, until):
                later[s] = next_due  # its next step is due after the run: not judged
            elif len(steps) < reminders + 1 and next_due >= success_earliest.get(s, math.inf):
                # the success may have come first (a service that keeps "paid" to itself)
                totals["stopped_by_success"] += 1
            else:
                problems.append(
                    f"unpaid, but {len(sent)} of {reminders} reminders and "
                    f"{len(escalations)} escalation(s)"
                )
        if problems:
            bad.append(
                {
                    "key": s,
                    "problem": "; ".join(problems),
                    "started": started[s],
                    "reminders": sent,
                    "escalations": escalations,
                    "paid": paid,
                    "success_due": success,
                }
            )
    stats = {
        "subjects": len(started),
        **totals,
        "max_gap_s": round(max(gaps), 3) if gaps else None,
        "min_gap_s": round(min(gaps), 3) if gaps else None,
        "waits_spanning_faults": spanning_faults(waits, records),
        "violations": len(bad),
        "late_unjudged": len(unjudged),
        "due_after_run": len(later),
        "lateness_bound": bounds.summary(),
    }
    deferred = later_summary(
        len(later), len(started), later.values(), until, "schedules' next steps"
    )
    if bad and world_unused(ledger):
        msg = "not one call reached the world in the whole run: " + not_through_world(
            "send its reminders", "see the schedules"
        )
        return Verdict(name, "unknown", msg, stats, bad[:20], waits=waits)
    if bad:
        msg = f"{len(bad)} of {len(started)} schedules broken{deferred}"
        return Verdict(name, False, msg, stats, bad, waits=waits)
    if later and not gaps:
        msg = f"no step after a schedule's first came due within the run{deferred}"
        return Verdict(name, "unknown", msg, stats, waits=waits)
    if unjudged:
        msg = (
            f"{len(unjudged)} steps fired later than the run's measured bound, which could "
            f"not judge them: {unjudged[0]['problem']}{deferred}"
        )
        return Verdict(name, "unknown", msg, stats, unjudged, waits=waits)
    return Verdict(
        name,
        True,
        f"{len(started)} schedules: {totals['reminders']} reminders, {totals['escalations']} "
        f"escalations, {totals['stopped_by_success']} stopped by a success; gaps "
        f"{stats['min_gap_s']}-{stats['max_gap_s']}s (interval {interval}s), each within its "
        f"measured bound ({bounds.describe()}); "
        f"{waits_summary(waits, stats['waits_spanning_faults'])}{deferred}",
        stats,
        waits=waits,
    )


def _steps(got: dict[str, list[tuple[float, str]]]) -> list[float]:
    """A schedule's steps as they landed: the reminders, then the first escalation."""
    sent = sorted(got.get("reminder", []))
    return [w for w, _ in sent] + sorted(w for w, _ in got.get("escalation", []))[:1]
