"""run.json: what a run was (seed, plan, versions, config, how to reproduce) and how it ended."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.versions import harness_version, sdk_version


def git_state(root: Path | None = None) -> dict[str, Any]:
    """The git state of the project under test (the working directory's repository)."""
    root = root or Path.cwd()

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": bool(status) if status is not None else None}


def base_manifest(scenario: str, seed: int, reproduce: str) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "seed": seed,
        "reproduce": reproduce,
        "versions": {
            "harness": harness_version(),
            "restate_sdk": sdk_version(),
            "python": platform.python_version(),
        },
        "git": git_state(),
        "argv": sys.argv,
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader never sees a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)
