import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.runtime.processes import ProcessRegistry

NOOP = "tests/data/noop_scenario.py"  # a session that runs a scenario, starting nothing


def wait_gone(pids, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [
            p
            for p in pids
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


def test_kill_takes_the_whole_group_including_forked_children(tmp_path):
    reg = ProcessRegistry()
    proc = reg.spawn("forker", ["sh", "-c", "sleep 60 & sleep 60 & wait"], tmp_path / "log")
    deadline = time.monotonic() + 5
    while len(proc.group_members()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    members = proc.group_members()
    assert len(members) == 3
    assert reg.leaks()  # alive and recorded: the leak check sees it
    reg.kill(proc)
    assert wait_gone(members) == []
    assert reg.leaks() == []


def test_stop_is_graceful_when_the_process_obeys_sigterm(tmp_path):
    reg = ProcessRegistry()
    proc = reg.spawn("sleeper", ["sleep", "60"], tmp_path / "log")
    assert asyncio.run(reg.stop(proc, grace=5)) is True
    assert not proc.alive()


def test_stop_escalates_to_sigkill_after_the_grace(tmp_path):
    reg = ProcessRegistry()
    proc = reg.spawn("stubborn", ["sh", "-c", "trap '' TERM; sleep 60 & wait"], tmp_path / "log")
    time.sleep(0.2)
    t0 = time.monotonic()
    assert asyncio.run(reg.stop(proc, grace=0.5)) is False
    assert time.monotonic() - t0 < 5
    assert reg.leaks() == []


def test_children_die_with_a_sigkilled_harness(tmp_path):
    """PDEATHSIG: even kill -9 of the harness process takes its children down."""
    script = (
        "import sys, time; from pathlib import Path\n"
        "from harness.runtime.processes import REGISTRY\n"
        f"p = REGISTRY.spawn('child', ['sleep', '60'], Path({str(tmp_path / 'log')!r}))\n"
        "print(p.pid, flush=True); time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert psutil.pid_exists(child)
    parent.kill()
    parent.wait()
    assert wait_gone([child]) == []


def test_kill_all_is_the_backstop(tmp_path):
    reg = ProcessRegistry()
    procs = [reg.spawn(f"p{i}", ["sleep", "60"], tmp_path / f"log{i}") for i in range(3)]
    reg.kill_all()
    assert wait_gone([p.pid for p in procs]) == []
    assert reg.leaks() == []


FORKER = (
    "import sys, time; from pathlib import Path\n"
    "from harness.runtime.processes import REGISTRY\n"
    # a service that forks: one grandchild in its group, one that left it (setsid)
    "a, b = sys.argv[2:4]\n"
    "p = REGISTRY.spawn('forker', ['sh', '-c', f'sleep {a} & setsid sleep {b} & wait'],\n"
    "                   Path(sys.argv[1]))\n"
    "print(REGISTRY.watchdog._proc.pid, flush=True); time.sleep(60)\n"
)


def sleeps() -> tuple[str, str]:
    """Two sleep durations no other test's processes have (tests run side by side)."""
    n = random.randrange(10**6)
    return f"60.{n:06d}1", f"60.{n:06d}2"


def descendants_of_forker(durations: tuple[str, str], timeout: float = 5.0) -> list[int]:
    """The forker's sleeps, found by their command lines, unique to this test (test only;
    the harness never finds processes by name)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] in (["sleep", durations[0]], ["sleep", durations[1]])
        ]
        if len(pids) >= 2:
            return pids
        time.sleep(0.05)
    raise AssertionError("the forker did not fork")


def test_forked_descendants_die_with_a_sigkilled_harness(tmp_path):
    """kill -9 of the harness: the watchdog kills the group and the grandchild that left it."""
    durations = sleeps()
    parent = subprocess.Popen(
        [sys.executable, "-c", FORKER, str(tmp_path / "log"), *durations],
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = int(parent.stdout.readline())
    pids = descendants_of_forker(durations)
    parent.kill()
    parent.wait()
    assert wait_gone([*pids, watchdog], timeout=30) == []  # generous: a busy machine


def leave_leftovers_and_sweep(log: str) -> None:
    """Run as pid 1 of a fresh pid namespace (no other session sees or sweeps these
    processes): a harness with a forking service, harness and watchdog killed -9, then a
    new pytest session. Prints what happened as JSON."""
    durations = sleeps()
    parent = subprocess.Popen(
        [sys.executable, "-c", FORKER, log, *durations], stdout=subprocess.PIPE, text=True
    )
    watchdog = int(parent.stdout.readline())
    pids = descendants_of_forker(durations)
    psutil.Process(watchdog).kill()
    wait_gone([watchdog])
    parent.kill()
    parent.wait()
    left = [p for p in pids if wait_gone([p], timeout=0.3)]
    # a session without a scenario leaves them be: only one that runs the `chaos` fixture
    # sweeps (an unrelated project's tests, with the plugin installed, touch nothing)
    unrelated = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_ports.py"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    kept = [p for p in pids if psutil.pid_exists(p)]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", NOOP,
         "--chaos-report-dir", str(Path(log).parent / "reports")],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    print(
        json.dumps(
            {"left": left, "kept": kept, "unrelated": unrelated.stderr + unrelated.stdout,
             "stderr": out.stderr, "after": wait_gone(pids)}
        )
    )  # fmt: skip


def test_the_next_run_sweeps_what_a_dead_harness_left(tmp_path):
    """Harness and watchdog both killed -9: the next pytest session that runs a scenario
    kills the leftovers (found by the mark of a dead harness) and says so; a session that
    runs no scenario leaves everything be."""
    code = "from tests.test_processes import *; leave_leftovers_and_sweep(sys.argv[1])"
    inner = [sys.executable, "-c", code, str(tmp_path / "log")]
    if subprocess.run(["unshare", "-pf", "--mount-proc", "true"], capture_output=True).returncode:
        pytest.skip("needs `unshare -pf --mount-proc` (root) to isolate the leftovers")
    out = subprocess.run(
        ["unshare", "-pf", "--mount-proc", *inner], capture_output=True, text=True, timeout=90
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["left"]) == 2, result  # both sleeps outlived harness and watchdog
    assert sorted(result["kept"]) == sorted(result["left"]), result
    assert "restate-chaos: killed" not in result["unrelated"]
    assert "killed 2 processes left by an earlier run whose harness died" in result["stderr"]
    assert result["after"] == []
