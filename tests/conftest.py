"""Helpers for the harness's own tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
TAG_VAR = "RESTATE_CHAOS_TEST_TAG"


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Processes whose environment carries our tag: everything a subprocess run started."""
    out = []
    for p in psutil.process_iter(["pid"]):
        try:
            if p.environ().get(TAG_VAR) == tag:
                out.append(p)
        except psutil.Error:
            continue
    return out


class PytestRun:
    """A pytest run (or, with `cli`, a `restate-chaos` command) in a subprocess, tagged so
    that its processes can be found."""

    def __init__(
        self,
        args: list[str],
        report_dir: Path,
        env: dict[str, str] | None = None,
        cli: bool = False,
    ):
        self.tag = uuid.uuid4().hex
        self.report_dir = report_dir
        self.started = time.monotonic()
        command = (
            ["-m", "harness", *args[:2], f"--report-dir={report_dir}", *args[2:]]
            if cli
            else [
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--chaos-report-dir={report_dir}",  # one token: never taken for a test path
                *args,
            ]
        )
        self.proc = subprocess.Popen(
            [sys.executable, *command],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, TAG_VAR: self.tag, **(env or {})},
        )

    def wait(self, timeout: float = 300) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out

    def leftovers(self) -> list[psutil.Process]:
        return [p for p in tagged_processes(self.tag) if p.pid != self.proc.pid]

    def kill_leftovers(self) -> None:
        for p in self.leftovers():
            p.kill()


@pytest.fixture
def subpytest(tmp_path: Path):
    runs: list[PytestRun] = []

    def start(args: list[str], env: dict[str, str] | None = None, cli: bool = False) -> PytestRun:
        """`cli`: args are `restate-chaos` arguments, COMMAND SCENARIO first."""
        run = PytestRun(args, tmp_path / f"reports-{len(runs)}", env, cli)
        runs.append(run)
        return run

    yield start
    for run in runs:  # never leak, even when the test failed
        if run.proc.poll() is None:
            run.proc.kill()
        run.kill_leftovers()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="nightly depth: 5 seeds per scenario (the Kafka path too) and 3 per negative "
        "control (default 2, 1 and 1, to keep CI within its budget)",
    )


@pytest.fixture(scope="session")
def depth(request: pytest.FixtureRequest) -> dict[str, int]:
    long = request.config.getoption("--long")
    return {"sweep": 5 if long else 2, "controls": 3 if long else 1, "kafka": 5 if long else 1}
