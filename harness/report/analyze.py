"""Re-analysis: re-run a stored run's checks on its recorded data and rewrite its report."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from harness.checkers.data import RunData
from harness.checkers.verdict import combine
from harness.errors import HarnessError
from harness.manifest import write_json
from harness.report.render import render

FINAL = ("passed", "failed", "unknown")  # statuses that come from verdicts


def status_of(valid: Any) -> str:
    return {True: "passed", False: "failed"}.get(valid, "unknown")


def load_checks(spec: str) -> Any:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise HarnessError(f"cannot load the checks {spec!r} recorded in run.json: {e}") from e


def reanalyze(run_dir: Path) -> dict[str, Any]:
    """Re-run the checks recorded in run.json; returns the rewritten results."""
    if not (run_dir / "run.json").is_file():
        raise HarnessError(f"{run_dir} is not a run directory (no run.json in it)")
    data = RunData.load(run_dir)
    results_path = run_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    spec = data.manifest.get("checks")
    if spec:  # a run that crashed before its checks has none: its report is only re-rendered
        verdicts = load_checks(spec)(data)
        results["verdicts"] = [v.to_record() for v in verdicts]
        results["valid"] = combine(verdicts)
        if results.get("status", "unknown") in FINAL:
            results["status"] = status_of(results["valid"])
        write_json(results_path, results)
    render(run_dir)
    return results
