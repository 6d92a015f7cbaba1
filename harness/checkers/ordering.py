"""Keyed event processing: per key in the order sent, one at a time, once each; and the
state joined from the events is complete.

Send order: an event counts as sent before another when its send was acknowledged before
the other's first attempt (a client that sends one key's events in sequence, as a Kafka
partition delivers them). Processing is read off the world's begin / end calls of each
event (`transitions`): the earlier event must have ended before the later one began.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.checkers.transitions import transitions
from harness.checkers.verdict import Verdict, checker, judged
from harness.workload.history import Completed, operations


def _sends(
    records: list[dict[str, Any]], handler: str, event_of: Callable[[Completed], str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """key -> event -> {first: first attempt's wall, acked: ack wall or None, ops}."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for o in operations(records):
        if o.invoke.get("handler") != handler or o.key is None:
            continue
        e = out.setdefault(o.key, {}).setdefault(
            event_of(o), {"first": o.invoke["wall"], "acked": None, "ops": []}
        )
        e["first"] = min(e["first"], o.invoke["wall"])
        e["ops"].append(o.op)
        if o.outcome == "ok" and o.result and e["acked"] is None:
            e["acked"] = o.result["wall"]
    return out


@checker
def check_key_order(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    handler: str,
    event_of: Callable[[Completed], str],
    name: str = "per key in the order sent, one at a time, once each",
) -> Verdict:
    """Per key, the events sent to `handler` (`event_of(op)`: the event's id) against the
    world's record of their processing (transitions with begin and end).

    complete: every accepted event was processed to its end. correct: nothing processed
    that was never sent, and an event sent after another was accepted began only after that
    one finished (the world's clock for processing, the client's for sending).

    Failed answers: an event answered with a failure is not required to be processed;
    one that was processed is judged for its order like the others.
    Amounts: none."""
    sends = _sends(records, handler, event_of)
    processed = transitions(ledger)  # key -> [{invocation: event id, begin, end}] by begin
    bad = []
    n = {"events": 0, "processed": 0, "ordered_pairs": 0}
    for key in sorted(sends):
        events, runs = sends[key], {t["invocation"]: t for t in processed.get(key, [])}
        problems = []
        for ev, s in events.items():
            n["events"] += 1
            t = runs.get(ev)
            if t is not None and t["end"] is not None:
                n["processed"] += 1
            elif s["acked"] is not None:
                problems.append(f"{ev} accepted, never {'processed' if t is None else 'finished'}")
        problems += [f"{ev} processed, never sent" for ev in runs if ev not in events]
        for a, sa in events.items():
            for b, sb in events.items():
                if sa["acked"] is None or sa["acked"] > sb["first"] or a == b:
                    continue
                ta, tb = runs.get(a), runs.get(b)
                if ta is None or tb is None:
                    continue
                n["ordered_pairs"] += 1
                if ta["end"] is None or tb["begin"] < ta["end"]:
                    problems.append(f"{b} began before {a} (sent earlier) had finished")
        if problems:
            bad.append(
                {
                    "key": key,
                    "problem": "; ".join(problems[:5]),
                    "ops": [op for s in events.values() for op in s["ops"]][:30],
                    "processing": sorted(runs.values(), key=lambda t: t["begin"])[:20],
                }
            )
    stats = {"keys": len(sends), **n, "violations": len(bad)}
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {len(sends)} keys out of order",
        f"{len(sends)} keys, {n['processed']} of {n['events']} events processed once each; "
        f"{n['ordered_pairs']} ordered pairs, each processed in the order sent",
    )


@checker
def check_enriched(
    records: list[dict[str, Any]],
    finals: dict[str, Any],
    register_handler: str,
    update_handler: str,
    update_of: Callable[[Completed], Any],
    name: str = "the enriched state is complete",
) -> Verdict:
    """`finals`: key -> the updates its state holds at the end, in the order applied, as
    `update_of(op)` gives them (None: not registered). Every accepted update is there once,
    in the order sent; nothing is there that was not sent; an acknowledged registration is
    there.

    complete: every accepted update and acknowledged registration is in the final state.
    correct: once each, in the order sent, nothing that was not sent.

    Failed answers: an update answered with a failure is not required in the final
    state; one there is not flagged (its sender may have retried it under another
    request).
    Amounts: none: updates are compared whole."""
    updates = _sends(records, update_handler, lambda o: repr(update_of(o)))
    registered = {
        k for k, evs in _sends(records, register_handler, lambda o: "").items() if evs[""]["acked"]
    }
    bad = []
    n = {"keys": 0, "updates": 0}
    for key in sorted(set(updates) | registered):
        n["keys"] += 1
        state = finals.get(key)
        got = [repr(u) for u in state or []]
        sent = updates.get(key, {})
        order = sorted(sent, key=lambda ev: sent[ev]["first"])
        problems = []
        if key in registered and state is None:
            problems.append("registration lost")
        missing = [ev for ev in order if sent[ev]["acked"] and ev not in got]
        if missing:
            problems.append(f"{len(missing)} accepted updates missing, e.g. {missing[0]}")
        if len(set(got)) < len(got):
            problems.append("an update applied twice")
        if any(ev not in sent for ev in got):
            problems.append("an update that was never sent")
        seen = [ev for ev in order if ev in got]
        if [ev for ev in got if ev in sent] != seen:
            problems.append("updates applied out of the order sent")
        n["updates"] += len(got)
        if problems:
            bad.append({"key": key, "problem": "; ".join(problems), "state": state, "sent": order})
    stats = {**n, "violations": len(bad)}
    return judged(
        name,
        bad,
        stats,
        f"{len(bad)} of {n['keys']} states incomplete",
        f"{n['keys']} states hold their registration and all {n['updates']} updates, "
        "once each, in the order sent",
    )
