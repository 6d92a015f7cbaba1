import asyncio
import subprocess
import sys
import time

import psutil

from harness.runtime.processes import ProcessRegistry


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
