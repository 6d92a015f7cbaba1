"""The run report: a pure function of the run directory.

`render(run_dir)` reads run.json, results.json, history.jsonl, faults, ledger.json and
invocations.json, and writes one self-contained index.html next to them (inline CSS and
SVG, no script, nothing fetched), so a report can be rebuilt at any time.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from harness.checkers.data import RunData
from harness.manifest import write_atomic
from harness.nemesis.faults import describe
from harness.report import charts, templates
from harness.workload.history import operations, recovery, wall_at_start


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def what_was_done(data: RunData, results: dict[str, Any]) -> list[str]:
    """Plain sentences: the workload, the faults, the world's view."""
    lines = []
    d = (results.get("stats") or {}).get("driver") or {}
    if d:
        chaos = (results.get("timings") or {}).get("chaos")
        lines.append(
            f"{_plural(d.get('requests', 0), 'request')} from "
            f"{_plural(d.get('concurrency', 1), 'concurrent client')}"
            f" ({_plural(d.get('attempts', 0), 'attempt')} with retries: {d.get('ok', 0):,} "
            f"acknowledged, {d.get('fail', 0):,} failed, {d.get('info', 0):,} with unknown "
            f"outcome)" + (f" in {chaos:.1f} s." if chaos else ".")
        )
    starts = [r for r in data.records if r["type"] == "fault-start"]
    if starts:
        kinds = Counter(describe(r["kind"], r["target"]) for r in starts)
        triggered = sum(1 for r in starts if r.get("world_seq"))
        lines.append(
            f"{_plural(len(starts), 'fault')} injected: "
            + ", ".join(f"{n} x {k}" for k, n in kinds.most_common())
            + (
                f"; {triggered} of them fired by the world recording a side effect (median "
                f"{sorted(r['event_lag_ms'] for r in starts if r.get('world_seq'))[triggered // 2]}"
                " ms later)"
                if triggered
                else ""
            )
            + "."
        )
    windowed = [r for r in starts if r.get("window_ms") is not None]
    if windowed:
        hit = sum(1 for r in windowed if r.get("landed"))
        lines.append(
            f"{hit} of {_plural(len(windowed), 'window fault')} landed in their window "
            "(between the side effect and the release of its held-back answer)"
            + ("." if hit == len(windowed) else "; the others missed it (see Faults).")
        )
    skipped = [r for r in data.records if r["type"] == "fault-skipped"]
    never = sum(1 for r in skipped if not r.get("reason"))
    if never:
        lines.append(f"{_plural(never, 'planned fault')} never triggered.")
    for reason in sorted({r["reason"] for r in skipped if r.get("reason")}):
        n = sum(1 for r in skipped if r.get("reason") == reason)
        lines.append(f"{_plural(n, 'planned fault')} not injected: {reason}.")
    calls = Counter(c["op"] for c in data.ledger.get("calls", []))
    effects = Counter(e["op"] for e in data.ledger.get("effects", []))
    for op, n in calls.most_common():
        lines.append(f"The world saw {_plural(n, op + ' call')}, {effects.get(op, 0):,} effective.")
    return lines


def restate_view(invocations: list[dict[str, Any]]) -> dict[str, Any]:
    retries = [r.get("retry_count") or 0 for r in invocations]
    sizes = [r.get("journal_size") or 0 for r in invocations]
    return {
        "total": len(invocations),
        "by_status": dict(Counter(r.get("status", "?") for r in invocations)),
        "retried": sum(1 for x in retries if x),
        "retries": sum(retries),
        "max_retries": max(retries, default=0),
        "journal_mean": round(sum(sizes) / len(sizes), 1) if sizes else 0,
        "journal_max": max(sizes, default=0),
    }


def headline(results: dict[str, Any]) -> str:
    verdicts = results.get("verdicts") or []
    bad = [v for v in verdicts if v["valid"] is False]
    unknown = [v for v in verdicts if v["valid"] not in (True, False)]
    status = results.get("status")
    if status in ("crashed", "interrupted"):
        return f"The run {status} before it could be judged; what was recorded is below."
    if not verdicts:
        return "No verdict was reached."
    if bad:
        return f"{len(bad)} of {len(verdicts)} guarantees were VIOLATED."
    if unknown:
        return (
            f"Inconclusive: {len(unknown)} of {len(verdicts)} checks could not decide "
            "(see why below); none was violated."
        )
    return f"All {len(verdicts)} guarantees held."


def counterexample_ops(data: RunData, verdicts: list[dict[str, Any]]) -> dict[int, Any]:
    """The operations named by counterexamples, joined with their outcomes."""
    wanted = {
        op for v in verdicts for cx in v.get("counterexamples", []) for op in cx.get("ops", [])[:20]
    }
    return {o.op: o for o in operations(data.records) if o.op in wanted}


def counterexample_journals(data: RunData, cx_ops: dict[int, Any]) -> dict[str, Any]:
    """idempotency key -> (invocation id, its journal entries), for the counterexamples'
    operations: what Restate recorded for the requests that show a violation."""
    wanted = {o.idem for o in cx_ops.values() if o.idem}
    ids = {
        r["idempotency_key"]: r["id"]
        for r in data.invocations
        if r.get("idempotency_key") in wanted
    }
    entries: dict[str, list[dict[str, Any]]] = {}
    for row in data.journal:
        entries.setdefault(row["id"], []).append(row)
    return {idem: (inv, entries.get(inv, [])[:40]) for idem, inv in ids.items()}


def faults_with_recovery(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The fault records; each fault-end with `recovered_after`: seconds from the process
    being back to the first answer of a request in flight when the fault began, and
    `recovery_cut_short`: the fault that began before that answer, if one did."""
    after = {r["fault"]: r for r in recovery(records)}
    return [
        {
            **r,
            "recovered_after": after.get(r.get("fault"), {}).get("after"),
            "recovery_cut_short": after.get(r.get("fault"), {}).get("cut_short"),
        }
        if r["type"] == "fault-end"
        else r
        for r in records
        if r["type"].startswith("fault-")
    ]


def context(run_dir: Path) -> dict[str, Any]:
    data = RunData.load(run_dir)
    results_path = run_dir / "results.json"
    results = (
        RunData.load_json(results_path)
        if results_path.exists()
        else {"status": "unknown", "verdicts": []}
    )
    ops = list(operations(data.records))
    cx_ops = counterexample_ops(data, results.get("verdicts") or [])
    bands = charts.fault_bands(data.records)
    t0_wall = wall_at_start(data.records)
    waits = [
        {
            "name": v["name"],
            "count": len(v["waits"]),
            "spanning": v["stats"].get("waits_spanning_faults"),
            "svg": charts.waits(v["waits"], bands, t0_wall),
        }
        for v in results.get("verdicts") or []
        if v.get("waits")
    ]
    return {
        "manifest": data.manifest,
        "results": results,
        "headline": headline(results),
        "done": what_was_done(data, results),
        "restate": restate_view(data.invocations),
        "faults": faults_with_recovery(data.records),
        "timeline_svg": charts.timeline(ops, bands) if ops else "",
        "throughput_svg": charts.throughput(ops, bands) if ops else "",
        "waits": waits,
        "cx_ops": cx_ops,
        "cx_journal": counterexample_journals(data, cx_ops),
        "minimal": RunData.load_json(run_dir / "minimal.json"),  # written by a shrink
    }


def render(run_dir: Path) -> Path:
    html = templates().get_template("run.html.j2").render(**context(run_dir))
    out = run_dir / "index.html"
    write_atomic(out, html)  # never a half-written report
    return out
