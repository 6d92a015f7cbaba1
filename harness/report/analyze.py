"""Re-analysis: re-run a stored run's checks on its recorded data and rewrite its report."""

from __future__ import annotations

import contextlib
import datetime
import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Iterator
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


@contextlib.contextmanager
def recorded_params(checks: Any, params: dict[str, Any]) -> Iterator[None]:
    """The scenario module's parameters as the run had them (--param, --scale) while its
    checks run again: a check that derives what it expects from them must see the same."""
    module = inspect.getmodule(checks)
    old = {n: getattr(module, n) for n in params if hasattr(module, n)}
    for name in old:
        value = params[name]
        if isinstance(old[name], tuple | set | frozenset) and isinstance(value, list):
            value = type(old[name])(value)  # run.json stores them as lists
        elif isinstance(old[name], datetime.timedelta):
            value = datetime.timedelta(seconds=value)  # ... and these as seconds
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(module, name, value)


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
        with recorded_params(checks, data.manifest.get("params") or {}):
            verdicts = evaluate(checks, data)
        results["verdicts"] = [v.to_record() for v in verdicts]
        results["valid"] = combine(verdicts)
        if results.get("status", "unknown") in FINAL:
            results["status"] = status_of(results["valid"])
        write_json(results_path, results)
    render(run_dir)
    return results
