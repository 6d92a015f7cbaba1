"""The run report: a pure function of the run directory (run.json, results.json, faults).

`render(run_dir)` reads the side files and writes index.html next to them, so a report can
be rebuilt at any time from what the run recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from harness.workload.history import read

_env = Environment(
    loader=PackageLoader("harness.report", "templates"), autoescape=select_autoescape(["html"])
)


def _load(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return default


def context(run_dir: Path) -> dict[str, Any]:
    faults_path = run_dir / "faults.jsonl"
    return {
        "manifest": _load(run_dir / "run.json", {}),
        "results": _load(run_dir / "results.json", {"status": "unknown", "verdicts": []}),
        "faults": read(faults_path) if faults_path.exists() else [],
    }


def render(run_dir: Path) -> Path:
    html = _env.get_template("run.html.j2").render(**context(run_dir))
    out = run_dir / "index.html"
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html)
    os.replace(tmp, out)  # never a half-written report
    return out
