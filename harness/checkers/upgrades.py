"""Deployment upgrades kept their promise: an invocation stays on the deployment it began on,
so registering a new version mid-run must let every old-version invocation finish there and
send the new ones to the new version. Every run with an `upgrade` fault gets it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from harness.checkers.verdict import Verdict, checker

NAME = "upgrades kept every invocation on its version"
# an invocation Restate accepted this long after the new version was registered has its
# first attempt after it too, so it must be pinned to the new version
MARGIN_S = 0.5


def wall(stamp: str | None) -> float | None:
    return None if stamp is None else datetime.fromisoformat(stamp).timestamp()


@checker
def check_upgrades(invocations: list[dict[str, Any]], upgrades: list[dict[str, Any]]) -> Verdict:
    """`invocations`: Restate's sys_invocation rows after the quiesce bound (each with its
    pinned deployment); `upgrades`: run.json's record of each upgrade (old and new
    deployment id, when the new one was registered, by the harness's clock).
    complete: every invocation pinned to an old version completed (one that did not is
    stuck on a deployment that is gone or replays on code that changed), with its status
    and last failure. correct: every invocation Restate accepted more than MARGIN_S after a
    new version was registered is pinned to the new version. Exercised only when an old
    version still had invocations in flight when the new one came; else unknown."""
    exercised, bad, stats = 0, [], []
    for u in upgrades:
        switch = u["switch_wall"]
        old = [r for r in invocations if r.get("pinned_deployment_id") == u["from"]]
        in_flight = [
            r
            for r in old
            if (wall(r.get("created_at")) or 0) < switch
            and (r.get("completed_at") is None or (wall(r["completed_at"]) or 0) > switch)
        ]
        exercised += len(in_flight)
        stuck = [r for r in old if r.get("status") != "completed"]
        late = [
            r
            for r in old
            if u["from"] != u["to"] and (wall(r.get("created_at")) or 0) > switch + MARGIN_S
        ]
        stats.append(
            {"service": u["service"], "from": u["from"], "to": u["to"],
             "in_flight_at_switch": len(in_flight), "stuck": len(stuck), "late": len(late),
             "in_place": u.get("in_place", False)}
        )  # fmt: skip
        bad += [
            {"problem": f"pinned to the old version {u['from']} and never completed",
             "id": r["id"], "target": r.get("target"), "status": r.get("status"),
             "last_failure": (r.get("last_failure") or "")[:300]}
            for r in stuck
        ]  # fmt: skip
        bad += [
            {"problem": f"accepted after {u['to']} was registered but ran on {u['from']}",
             "id": r["id"], "target": r.get("target"), "created_at": r.get("created_at")}
            for r in late
        ]  # fmt: skip
    detail = {"upgrades": stats}
    if bad:
        return Verdict(
            NAME,
            False,
            f"{len(bad)} invocation(s) disturbed by {len(upgrades)} upgrade(s): "
            f"{sum(s['stuck'] for s in stats)} pinned to an old version never completed, "
            f"{sum(s['late'] for s in stats)} new ones ran on an old version",
            stats=detail,
            counterexamples=bad[:50],
            id="upgrades",
        )
    if not exercised:
        return Verdict(
            NAME,
            "unknown",
            f"not exercised: no invocation of an old version was in flight at any of "
            f"{len(upgrades)} upgrade(s)",
            stats=detail,
            id="upgrades",
        )
    return Verdict(
        NAME,
        True,
        f"{exercised} invocation(s) in flight on the old version at {len(upgrades)} "
        "upgrade(s) all completed there; every later one ran on the new version",
        stats=detail,
        id="upgrades",
    )
