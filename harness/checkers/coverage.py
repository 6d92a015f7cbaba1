"""Fault coverage per journal step: where in each handler's journal the run's faults found
its invocations.

A boundary is "after entry N of handler H": an invocation of H with N journal entries
(commands and notifications, as Restate counts `journal_size`) when a fault acted. Each
landed fault-start records where the invocations in flight stood (`positions`, from the
nemesis's sample of Restate's introspection, whose age it records beside); the run's
journals (journal.json) say which boundaries each handler has and what its entry N was.
The boundaries no fault reached are what the run left untested.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from harness.workload.history import faults


def handler_of(row: dict[str, Any]) -> str:
    """ "Service/handler" of an invocation row (its `target` also names an object's key)."""
    service = row.get("target_service_name") or str(row["target"]).split("/")[0]
    return f"{service}/{str(row['target']).rsplit('/', 1)[-1]}"


def coverage(
    records: list[dict[str, Any]],
    invocations: list[dict[str, Any]],
    journal: list[dict[str, Any]],
) -> dict[str, Any]:
    """Per handler ("Service/handler"): its boundaries (0 .. the most entries one of its
    invocations reached), for each the fault kinds that landed there and how often, the
    entry that ends it (the most common type and name at that index), and the boundaries
    no fault reached."""
    target = {r["id"]: handler_of(r) for r in invocations if r.get("id") and r.get("target")}
    entries: dict[str, int] = defaultdict(int)
    for r in invocations:
        if r.get("id") in target:
            h = target[r["id"]]
            entries[h] = max(entries[h], int(r.get("journal_size") or 0))
    labels: dict[str, dict[int, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for j in journal:
        handler = target.get(j.get("id"))
        if handler is not None:
            name = f"{j.get('entry_type', '')} {j.get('name') or ''}".strip()
            labels[handler][int(j["index"]) + 1][name] += 1  # boundary after this entry
    hits: dict[str, dict[int, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for f in faults(records):
        if f["type"] != "fault-start" or not f.get("landed"):
            continue
        for handler, n, _ in f.get("positions") or []:
            hits[handler][int(n)][f["kind"]] += 1
            entries[handler] = max(entries[handler], int(n))
    out: dict[str, Any] = {}
    for handler in sorted(entries):
        bounds = range(entries[handler] + 1)
        hit = {n: dict(hits[handler][n]) for n in bounds if hits[handler][n]}
        out[handler] = {
            "boundaries": len(bounds),
            "hit": {str(n): kinds for n, kinds in hit.items()},
            "unhit": [n for n in bounds if n not in hit],
            "after": {
                str(n): labels[handler][n].most_common(1)[0][0]
                for n in bounds
                if labels[handler][n]
            },
        }
    return out
