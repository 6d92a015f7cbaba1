"""reports/index.html: every run under a report folder, grouped by scenario, rebuilt from the
run directories themselves (so it is always consistent with them)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.checkers.data import RunData
from harness.manifest import settle_if_dead, write_atomic
from harness.report import templates


def collect(root: Path) -> dict[str, list[dict[str, Any]]]:
    """Runs by scenario, oldest first; a folder without run.json is not a run."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for manifest_path in sorted(root.glob("*/run.json")):
        run_dir = manifest_path.parent
        manifest = RunData.load_json(manifest_path, {})
        if manifest.get("status") == "running" and settle_if_dead(run_dir):
            manifest = RunData.load_json(manifest_path, {})  # now marked interrupted
        results = RunData.load_json(run_dir / "results.json", {})
        faults_path = run_dir / "faults.jsonl"
        n_faults = (
            sum(1 for line in faults_path.open() if '"fault-start"' in line)
            if faults_path.exists()
            else 0
        )
        verdicts = results.get("verdicts") or []
        runs.setdefault(manifest.get("scenario", "?"), []).append(
            {
                "id": run_dir.name,
                # a run without its HTML (--no-html, or still running): its folder
                "link": f"{run_dir.name}/index.html"
                if (run_dir / "index.html").exists()
                else f"{run_dir.name}/",
                "seed": manifest.get("seed"),
                "status": results.get("status") or manifest.get("status", "running"),
                "started": time.strftime(
                    "%Y-%m-%d %H:%M:%S", time.localtime(manifest.get("started", 0))
                ),
                "duration": manifest.get("duration"),
                "faults": n_faults,
                "held": sum(1 for v in verdicts if v["valid"] is True),
                "verdicts": len(verdicts),
                "violated": [v["name"] for v in verdicts if v["valid"] is False],
                "apps": ", ".join(s["app"] for s in (manifest.get("services") or {}).values()),
                "coverage": (results.get("stats") or {}).get("coverage") or {},
            }
        )
    return dict(sorted(runs.items()))


def coverage_over(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A scenario's fault coverage over its runs (harness/checkers/coverage.py): per
    handler, the boundaries its invocations reached in any run, those a fault reached in
    any run, and those none ever did."""
    seen: dict[str, int] = {}
    hit: dict[str, set[int]] = {}
    for r in runs:
        for handler, c in (r.get("coverage") or {}).items():
            seen[handler] = max(seen.get(handler, 0), int(c.get("boundaries", 0)))
            hit.setdefault(handler, set()).update(int(n) for n in c.get("hit", {}))
    return [
        {
            "handler": h,
            "boundaries": seen[h],
            "hit": len(hit[h]),
            "never": [n for n in range(seen[h]) if n not in hit[h]],
            "runs": sum(1 for r in runs if h in (r.get("coverage") or {})),
        }
        for h in sorted(seen)
    ]


def render_dashboard(root: Path) -> Path:
    runs = collect(root)
    template = templates().get_template("dashboard.html.j2")
    total = sum(len(v) for v in runs.values())
    html = template.render(
        runs=runs,
        coverage={scenario: coverage_over(rs) for scenario, rs in runs.items()},
        total=total,
        generated=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    out = root / "index.html"
    write_atomic(out, html)
    return out
