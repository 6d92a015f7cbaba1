"""Virtual-object state: no lost update, and shared reads that neither block nor corrupt."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from harness.checkers.verdict import Verdict, checker
from harness.workload.history import Completed, operations


def _by_key(records: list[dict[str, Any]], handler: str) -> dict[str, list[Completed]]:
    out: dict[str, list[Completed]] = defaultdict(list)
    for o in operations(records):
        if o.invoke.get("handler") == handler and o.key is not None:
            out[o.key].append(o)
    return out


@checker
def check_set_members(
    records: list[dict[str, Any]],
    finals: dict[str, list[Any]],
    handler: str,
    member: Callable[[Any], Any],
) -> Verdict:
    """Per key, the final list holds every acknowledged member once, and nothing that was
    never sent (members whose outcome is unknown may or may not be there). A key without a
    final read (its read got no answer: liveness says so) is not judged.

    complete: every acknowledged member is in the final list. correct: once, and nothing
    that was never sent.

    Failed answers: an add answered with a failure counts as not applied: its member
    must not be in the final list.
    Amounts: none: members are compared whole."""
    name = "no lost update"
    bad = []
    adds = _by_key(records, handler)
    total = 0
    unread = sorted(k for k in adds if k not in finals)
    for key in sorted(finals):
        acked = {member(o.invoke["req"]) for o in adds.get(key, []) if o.outcome == "ok"}
        maybe = {member(o.invoke["req"]) for o in adds.get(key, []) if o.outcome == "info"}
        final = finals.get(key) or []
        total += len(acked)
        problems = []
        if len(final) != len(set(final)):
            problems.append(f"duplicates {sorted({m for m in final if final.count(m) > 1})}")
        if acked - set(final):
            problems.append(f"lost {sorted(acked - set(final))}")
        if set(final) - acked - maybe:
            problems.append(f"never sent {sorted(set(final) - acked - maybe)}")
        if problems:
            bad.append(
                {
                    "key": key,
                    "problem": "; ".join(problems),
                    "final": final,
                    "ops": [o.op for o in adds.get(key, [])][:30],
                }
            )
    stats = {"keys": len(finals), "acknowledged": total, "violations": len(bad)}
    stats["unread_keys"] = len(unread)
    gap = (
        f"; {len(unread)} key(s) not judged, their final read got no answer: {unread[:10]}"
        if unread
        else ""
    )
    if bad:
        return Verdict(
            name,
            False,
            f"{len(bad)} of {len(finals)} keys lost or invented updates{gap}",
            stats,
            bad,
        )
    if unread:
        return Verdict(
            name, "unknown", f"{len(finals)} keys hold all {total} acknowledged updates{gap}", stats
        )
    return Verdict(
        name, True, f"{len(finals)} keys hold all {total} acknowledged updates, each once", stats
    )


@checker
def check_shared_reads(
    records: list[dict[str, Any]],
    finals: dict[str, list[Any]],
    exclusive: str,
    shared: str,
    member: Callable[[Any], Any],
    members: Callable[[Any], list[Any]] = lambda answer: answer or [],
    manifest: dict[str, Any] | None = None,
    must_overtake: bool = True,
) -> Verdict:
    """Shared reads do not queue behind exclusive handlers: most reads sent while an
    exclusive call on the same key was in flight finish before it (reads that queue can
    not: the per-key queue is FIFO; a few stragglers, whose write's answer was late at the
    client, do). And they do not corrupt: every read returns a subset of the final state
    that includes every update acknowledged before the read was sent. `members`: what a
    read's answer holds. `manifest` (run.json): the kind Restate discovered for the read's
    handler, named as the likely cause when reads queue. `must_overtake` False (the contract
    says reads are exclusive by design): only that reads do not corrupt.

    Failed answers: only `ok` reads and acknowledged writes are compared.
    Amounts: none."""
    name = "shared reads neither block nor corrupt"
    writes, reads = _by_key(records, exclusive), _by_key(records, shared)
    contended = overtook = 0
    bad = []
    for key, rs in reads.items():
        ws = [w for w in writes.get(key, []) if w.result is not None]
        # a key whose final read got no answer (wedged) has no final state to hold reads to
        final = set(finals[key]) if key in finals else None
        for r in rs:
            if r.outcome != "ok" or r.result is None:
                continue
            t0, t1 = r.invoke["t"], r.result["t"]
            busy = [w for w in ws if w.invoke["t"] < t0 < w.result["t"]]
            if busy:
                contended += 1
                overtook += any(t1 < w.result["t"] for w in busy)
            seen = set(members(r.result["resp"]))
            before = {
                member(w.invoke["req"]) for w in ws if w.outcome == "ok" and w.result["t"] < t0
            }
            if (final is not None and not seen <= final) or not before <= seen:
                bad.append(
                    {
                        "key": key,
                        "problem": "read outside [acknowledged, final]",
                        "read": sorted(seen),
                        "missing": sorted(before - seen),
                        "unknown": sorted(seen - final) if final is not None else [],
                        "ops": [r.op],
                    }
                )
    stats = {
        "reads_during_a_write": contended,
        "finished_before_that_write": overtook,
        "violations": len(bad),
    }
    # shared reads overtake nearly always (>90%)
    queued = contended > 0 and overtook < contended / 2 and must_overtake
    waited = (
        f"{contended - overtook} of {contended} reads sent during a write waited for it: "
        "reads queue behind exclusive handlers"
    )
    cause = read_kind_cause(reads, manifest or {}) if queued else ""
    if bad:
        summary = f"{len(bad)} reads saw state outside what was acknowledged and final"
        return Verdict(
            name, False, summary + (f"; {waited}" if queued else ""), stats, bad[:50], cause=cause
        )
    if contended == 0:
        return Verdict(name, "unknown", "no read was sent while a write was in flight", stats)
    if queued:
        return Verdict(
            name,
            False,
            waited,
            stats,
            [{"cause": cause, "problem": "reads never overtook a running write"}],
            cause=cause,
        )
    return Verdict(
        name,
        True,
        f"{overtook} of {contended} reads sent during a write "
        "finished before it; every read saw all acknowledged updates",
        stats,
    )


def read_kind_cause(reads: dict[str, list[Completed]], manifest: dict[str, Any]) -> str:
    """Why reads queue, from Restate's discovery of the read handler (run.json)."""
    kinds = {
        target: kind
        for svc in manifest.get("services", {}).values()
        for target, kind in svc.get("handler_kinds", {}).items()
    }
    first = next((o.invoke for rs in reads.values() for o in rs), {})
    target = f"{first.get('service')}/{first.get('api_handler', first.get('handler'))}"
    kind = kinds.get(target)
    if kind == "Exclusive":
        return (
            f"the read handler {target} is registered as exclusive (Restate's discovery): "
            "each read waits for every write on its key; declare it shared"
        )
    if kind == "Shared":
        return (
            f"the read handler {target} is shared (Restate's discovery), yet its reads "
            "waited: the handler itself waits for the write (a call to it, or a lock)"
        )
    return f"Restate's discovery did not say the kind of the read handler {target}"
