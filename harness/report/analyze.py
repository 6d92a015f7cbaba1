"""Re-analysis: re-run a stored run's checks on its recorded data and rewrite its report."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from harness.checkers.data import RunData
from harness.checkers.verdict import combine, evaluate, status_of
from harness.errors import HarnessError, StillRunning
from harness.manifest import settle_if_dead, write_json
from harness.report.render import render

FINAL = ("passed", "failed", "unknown")  # statuses that come from verdicts


def load_checks(spec: str, file: str | None = None) -> Any:
    """The checks recorded in run.json: by module name, else from the file they came from
    (a project's scenario module need not be importable from here)."""
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        if file and Path(file).is_file():
            loaded = importlib.util.spec_from_file_location(f"_chaos_checks_{module}", file)
            if loaded is not None and loaded.loader is not None:
                mod = importlib.util.module_from_spec(loaded)
                sys.modules[loaded.name] = mod  # its classes know their file (contracts)
                loaded.loader.exec_module(mod)
                return getattr(mod, name)
        raise HarnessError(f"cannot load the checks {spec!r} recorded in run.json: {e}") from e


def reanalyze(run_dir: Path) -> dict[str, Any]:
    """Re-run the checks recorded in run.json; returns the rewritten results."""
    if not (run_dir / "run.json").is_file():
        raise HarnessError(f"{run_dir} is not a run directory (no run.json in it)")
    settle_if_dead(run_dir)
    data = RunData.load(run_dir)
    if data.manifest.get("status") == "running":
        pid = (data.manifest.get("harness") or {}).get("pid", "?")
        raise StillRunning(f"{run_dir} is still running (harness pid {pid}); report it after")
    results_path = run_dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    spec = data.manifest.get("checks")
    if spec:  # a run that crashed before its checks has none: its report is only re-rendered
        checks = load_checks(spec, data.manifest.get("checks_file"))
        verdicts = evaluate(checks, data)  # its parameters: from run.json (Params.of)
        results["verdicts"] = [v.to_record() for v in verdicts]
        results["valid"] = combine(verdicts)
        if results.get("status", "unknown") in FINAL:
            results["status"] = status_of(results["valid"])
        write_json(results_path, results)
    render(run_dir)
    return results
