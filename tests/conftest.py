"""Helpers for the harness's own tests."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
TAG_VAR = "RESTATE_CHAOS_TEST_TAG"


# .ci/run sets up the Docker engine while the tests run: the folder where .ci/docker-setup
# writes its exit code (rc), output (env: the DOCKER_HOST export) and log
SETUP_VAR = "RESTATE_CHAOS_DOCKER_SETUP"
SETUP_WAIT_S = 600.0


def docker_setup_outcome(folder: Path, wait: float = SETUP_WAIT_S) -> str | None:
    """Wait for .ci/docker-setup to end; export its DOCKER_HOST, or say why it failed."""
    deadline = time.monotonic() + wait
    while not (folder / "rc").exists() or not (folder / "rc").read_text().strip():
        if time.monotonic() > deadline:
            return f".ci/docker-setup not done after {wait:.0f} s"
        time.sleep(1)
    if (folder / "rc").read_text().strip() != "0":
        log = (folder / "log").read_text(errors="replace").splitlines()
        why = [line for line in log if "skipped:" in line] or log[-1:] or ["no log"]
        return why[-1].partition("skipped: ")[2] or f".ci/docker-setup failed: {why[-1]}"
    name, _, value = (folder / "env").read_text().split()[-1].partition("=")
    os.environ[name] = value  # DOCKER_HOST, for the harness and every subprocess
    return None


@functools.cache
def docker_unavailable() -> str | None:
    """Why the Docker tests cannot run here, or None."""
    if os.environ.get(SETUP_VAR):
        reason = docker_setup_outcome(Path(os.environ[SETUP_VAR]))
        if reason:
            return reason
    if not shutil.which("docker-compose"):
        return "docker-compose not installed (run .ci/docker-setup)"
    if not os.environ.get("DOCKER_HOST"):
        return "no DOCKER_HOST (run .ci/docker-setup and export what it prints)"
    out = subprocess.run(["docker", "info"], capture_output=True, text=True)
    return None if out.returncode == 0 else f"no Docker engine at {os.environ['DOCKER_HOST']}"


@pytest.fixture(autouse=True)
def _docker_or_skip(request: pytest.FixtureRequest) -> None:
    """Tests marked `docker` run where an engine serves $DOCKER_HOST, else skip with why."""
    if request.node.get_closest_marker("docker"):
        reason = docker_unavailable()
        if reason:
            pytest.skip(f"Docker backend skipped: {reason}")


# a worker's scenario runs (a server, the services, the world, a pytest subprocess) hold up to
# about 1 GiB at once
WORKER_MEMORY = 2**30


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers a core this process may use (a scenario run spends much of its
    time waiting: downtimes, timers, retries), fewer where memory is short. On 2 cores: 4,
    the cores about 90% busy; a busy machine takes longer, not a different verdict."""
    cores = len(os.sched_getaffinity(0))
    memory = psutil.virtual_memory().available // WORKER_MEMORY
    return max(1, min(2 * cores, int(memory)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests (marked `slow`: seed sweeps, installs, shrinks) first: pytest-xdist hands
    out tests in order, and a long one handed out last makes every other worker wait. The
    Docker tests after them: .ci/run sets up the engine (a minute) meanwhile."""

    def order(item: pytest.Item) -> int:
        if item.get_closest_marker("docker"):
            return 1
        return 0 if item.get_closest_marker("slow") else 2

    items.sort(key=order)


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
        """Its exit code and output; if it has not ended within `timeout`, a failure with
        its output and every thread's stack (SIGUSR1, see install_signal_handlers)."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
            self.proc.kill()
            out, _ = self.proc.communicate()
            pytest.fail(f"still running after {timeout} s; its output and stacks:\n{out}")
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
        "control (default 1 each, to keep CI within its budget), and a shrink of every "
        "negative control",
    )


@pytest.fixture(scope="session")
def depth(request: pytest.FixtureRequest) -> dict[str, int]:
    long = request.config.getoption("--long")
    return {
        "sweep": 5 if long else 1,
        "controls": 3 if long else 1,
        "kafka": 5 if long else 1,
        "long": long,
    }


def only_known_bugs(results: dict) -> bool:
    """Violated, and every violation is a known upstream bug, proven by Restate's own
    records (harness/checkers/known.py): a correct service under a server that broke its
    promise. Not a pass: the run says so; the test does not fail CI for the server."""
    bad = [v for v in results["verdicts"] if v["valid"] is not True]
    if (
        results["status"] == "failed"
        and bad
        and all(v["valid"] is False and v["known"] for v in bad)
    ):
        print(f"seed {results['seed']}: known upstream bug: {bad[0]['known']}")
        return True
    return False


def made_once(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder `make` fills once per test session, shared by the pytest-xdist workers (a
    module fixture would make it again in every worker that draws one of its tests); the
    first worker makes it under a lock while the others wait. Readers must not change it."""
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


@pytest.fixture
async def world(tmp_path: Path):
    """A real world process (the simulated outside world) and its client."""
    from harness.runtime.ports import PortAllocator
    from harness.runtime.processes import ProcessRegistry
    from harness.runtime.service import ServiceProcess
    from harness.world.client import WorldClient

    reg, alloc = ProcessRegistry(), PortAllocator()
    proc = ServiceProcess(
        "harness.world.app:app",
        alloc.allocate(),
        tmp_path,
        name="world",
        registry=reg,
        env={"CHAOS_WORLD_DB": str(tmp_path / "ledger.sqlite"), "CHAOS_WORLD_SEED": "1"},
    )
    await proc.start()
    client = WorldClient(proc.uri)
    yield client, proc
    await client.close()
    reg.kill_all()
    alloc.release_all()
