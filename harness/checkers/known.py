"""Known upstream bugs: a violation that Restate's own records pin on a known server bug.

The verdict stays violated (the guarantee did not hold for the user, whoever is at fault);
it is marked `known` with the bug, when every counterexample carries that bug's evidence,
so a report reader and CI tell "the server lost it, as reported upstream" from a new
finding. Each known bug here comes with the evidence test that recognises it, read from
Restate's invocation and journal rows, never from the counterexample's wording.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from harness.checkers.data import RunData
from harness.checkers.verdict import Verdict

SIGNAL_LOST = (
    "restate-server dropped an awakeable's completion that it had accepted (the resolving "
    "invocation completed) while a restart changed partition leadership: "
    "https://github.com/restatedev/restate/issues/4566 (open)"
)


def signal_lost(run: RunData, waiting_idem: str, resolving_idem_prefix: str) -> bool:
    """Restate's journals show an accepted signal that never arrived: an invocation whose
    idempotency key starts with `resolving_idem_prefix` completed a CompleteAwakeable
    command before the waiting invocation (idempotency key `waiting_idem`) stopped
    waiting (its next notification), and the waiting one got no signal notification."""
    invocations = {r["id"]: r for r in run.invocations}
    entries: dict[str, list[dict[str, Any]]] = {}
    for e in run.journal:
        entries.setdefault(e["id"], []).append(e)
    waiting = [i for i, r in invocations.items() if r.get("idempotency_key") == waiting_idem]
    resolved_at = [
        e["appended_at"]
        for i, r in invocations.items()
        if (r.get("idempotency_key") or "").startswith(resolving_idem_prefix)
        and r.get("status") == "completed"
        for e in entries.get(i, [])
        if e["entry_type"] == "Command: CompleteAwakeable"
    ]
    if len(waiting) != 1 or not resolved_at:
        return False
    journal = entries.get(waiting[0], [])
    if any(e["entry_type"] == "Notification: Signal" for e in journal):
        return False
    woke = [e["appended_at"] for e in journal if e["entry_type"].startswith("Notification:")]
    return any(min(resolved_at) < w for w in woke)  # ISO times of one clock compare as text


def mark_known(verdict: Verdict, bug: str, explained: Callable[[dict[str, Any]], bool]) -> Verdict:
    """`verdict`, marked known as `bug` if it is violated and `explained` holds for every
    counterexample (each one also says so)."""
    cxs = verdict.counterexamples
    if verdict.valid is not False or not cxs or not all(explained(cx) for cx in cxs):
        return verdict
    return dataclasses.replace(
        verdict,
        known=bug,
        counterexamples=[{**cx, "known": bug} for cx in cxs],
        summary=f"{verdict.summary} (known upstream bug, see below)",
    )
