"""Every process a run starts is gone afterwards: after Ctrl-C, SIGTERM, a crash, a leak."""

import json
import signal
import time
from pathlib import Path

import pytest

SMOKE = "scenarios/scenario_smoke.py"


def wait_for_history(report_dir: Path, lines: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for h in report_dir.glob("*/history.jsonl"):
            if sum(1 for _ in h.open()) >= lines:
                return
        time.sleep(0.02)
    raise AssertionError(f"no history with {lines} lines under {report_dir}")


def results(report_dir: Path) -> dict:
    (path,) = report_dir.glob("*/results.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_leaves_no_process(subpytest, sig):
    run = subpytest([SMOKE, "--chaos-seed", "11"])
    wait_for_history(run.report_dir, 200)  # the workload is under way
    assert run.leftovers(), "the run should have live processes mid-run"
    run.proc.send_signal(sig)
    code, out = run.wait(timeout=60)
    assert code != 0, out
    assert run.leftovers() == [], out
    res = results(run.report_dir)
    assert res["status"] == "interrupted"
    assert (run.report_dir / res["run_id"] / "run.json").exists()


def test_sigterm_with_two_workers_leaves_no_process(subpytest):
    """`run --jobs 2` (pytest-xdist): a SIGTERM to the harness reaches both workers' runs."""
    run = subpytest([SMOKE, "scenarios/scenario_payments.py", "-n", "2", "--chaos-seed", "11"])
    wait_for_history(run.report_dir, 200)
    deadline = time.monotonic() + 30
    while len(list(run.report_dir.glob("*/history.jsonl"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # both scenarios under way
    run.proc.send_signal(signal.SIGTERM)
    code, out = run.wait(timeout=60)
    assert code != 0, out
    assert run.leftovers() == [], out
    statuses = [json.loads(p.read_text())["status"] for p in run.report_dir.glob("*/results.json")]
    assert statuses and set(statuses) <= {"interrupted", "passed"}, statuses


def test_a_dead_world_stops_the_run_at_once_without_a_verdict(subpytest):
    run = subpytest(["scenarios/scenario_payments.py", "--chaos-seed", "11"])
    wait_for_history(run.report_dir, 200)
    (world,) = [p for p in run.leftovers() if "harness.world.app" in " ".join(p.cmdline())]
    world.kill()
    t0 = time.monotonic()
    code, out = run.wait(timeout=120)
    took = time.monotonic() - t0
    assert code != 0, out
    assert took < 30, took  # a generous ceiling: the watch looks every 0.2 s
    assert run.leftovers() == [], out
    res = results(run.report_dir)
    assert res["status"] == "crashed" and res["verdicts"] == []
    assert "the world process died" in res["error"]


def test_crashing_scenario_leaves_no_process_and_a_crash_report(subpytest):
    run = subpytest(["tests/data/raising.py", "--chaos-seed", "1"])
    code, out = run.wait()
    assert code == 1, out
    assert "scenario bug on purpose" in out
    assert run.leftovers() == []
    res = results(run.report_dir)
    assert res["status"] == "crashed"
    assert "scenario bug on purpose" in res["error"]
    assert "leak check FAILED" not in out


def test_leak_check_fails_the_session(subpytest):
    run = subpytest(["tests/data/leaky.py"])
    code, out = run.wait()
    assert code == 1, out
    assert "1 passed" in out  # the test itself passed: the leak check is what failed
    assert "leak check FAILED" in out and "leaked-sleeper" in out
    assert run.leftovers() == []  # and it still cleaned up
