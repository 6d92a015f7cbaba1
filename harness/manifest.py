"""run.json: what a run was (seed, plan, versions, config, how to reproduce) and how it ended."""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.options import command
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


def base_manifest(scenario: str, seed: int, rerun: dict[str, Any] | None) -> dict[str, Any]:
    """`rerun`: how to run it again, as data (harness/options.py `rerun_config`), kept as
    `config`; `reproduce` is its command line, for a person."""
    from harness.runtime.reaper import owner_mark

    return {
        "scenario": scenario,
        "seed": seed,
        "reproduce": shlex.join(command(rerun)) if rerun else "",
        "config": rerun,
        # who runs it: pid and start time, so a dead run is told from a live one
        "harness": {"pid": os.getpid(), "mark": owner_mark()},
        "versions": {
            "harness": harness_version(),
            "restate_sdk": sdk_version(),
            "python": platform.python_version(),
        },
        "git": git_state(),
        "argv": sys.argv,
        "host": {"platform": platform.platform(), "cpus": os.cpu_count()},
    }


def rerun_command(
    manifest: dict[str, Any], drop: tuple[str, ...] = ()
) -> tuple[list[str], str | None]:
    """The command that reruns a run, without the options `drop` ("plan", ...), and the
    prefix of its options: "--" for `restate-chaos run ...` (a bundled scenario),
    "--chaos-" for `pytest ...` (a project's own), None when it records neither. Made from
    the run's `config`; a run recorded before there was one: from its reproduce string."""
    config = manifest.get("config")
    if config:
        return command(config, drop), "--" if config["runner"] == "cli" else "--chaos-"
    tokens = shlex.split(manifest.get("reproduce", ""))
    prefix = "--" if tokens[:2] == ["restate-chaos", "run"] else None
    if prefix is None and tokens[:1] == ["pytest"]:
        prefix = "--chaos-"
    return without_options(tokens, [f"{prefix}{n}" for n in drop] if prefix else []), prefix


def without_options(args: list[str], names: list[str]) -> list[str]:
    """`args` less the options `names` with their values ("--plan X" and "--plan=X")."""
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a in names:
            skip = True
        elif not any(a.startswith(f"{n}=") for n in names):
            out.append(a)
    return out


def write_atomic(path: Path, text: str) -> None:
    """Write aside, then rename: a reader never sees a half-written file, and a failed
    write (a full disk) leaves the old file and no temporary one. The temporary name is
    per process: parallel runs may write the same dashboard."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def report_dir_problem(path: Path) -> str | None:
    """Why runs cannot be written under `path`, or None; leaves nothing behind (a missing
    folder is judged by the nearest existing one above it, where it would be created)."""
    folder = path.resolve()
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        return f"--report-dir {path}: {folder} is a file, not a folder; give a folder"
    probe = folder / f".restate-chaos-write-test.{os.getpid()}"
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        why = e.strerror or e
        return f"--report-dir {path}: cannot write in {folder} ({why}); give a writable folder"
    return None


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def harness_alive(manifest: dict[str, Any]) -> bool:
    """Whether the harness that wrote this run.json still runs (a run without the record,
    from an older harness, counts as dead)."""
    from harness.runtime.reaper import owner_alive

    mark = (manifest.get("harness") or {}).get("mark")
    return bool(mark) and owner_alive(mark)


def settle_if_dead(run_dir: Path) -> bool:
    """A run whose harness died (kill -9, power loss) never wrote results.json: write it
    as interrupted, so report, dashboard and CI read it as such. True if it did."""
    results, manifest_path = run_dir / "results.json", run_dir / "run.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if results.exists() or manifest.get("status") != "running" or harness_alive(manifest):
        return False
    pid = (manifest.get("harness") or {}).get("pid", "?")
    error = f"the harness (pid {pid}) died before the run finished; rendered from what it recorded"
    write_json(
        results,
        {
            "run_id": manifest.get("run_id", run_dir.name),
            "scenario": manifest.get("scenario"),
            "seed": manifest.get("seed"),
            "status": "interrupted",
            "valid": "unknown",
            "error": error,
            "verdicts": [],
        },
    )
    write_json(manifest_path, {**manifest, "status": "interrupted"})
    return True


def settle_dead_runs(report_dir: Path) -> list[str]:
    """settle_if_dead for every run under report_dir; the names of those it settled."""
    return [
        d.parent.name for d in sorted(report_dir.glob("*/run.json")) if settle_if_dead(d.parent)
    ]
