"""Every process a run starts is gone afterwards: after Ctrl-C, SIGTERM, a crash, a leak."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
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
    run = subpytest([SMOKE, "--chaos-seed", "11", "--chaos-scale", "4"])  # still under way
    wait_for_history(run.report_dir, 200)
    assert run.leftovers(), "the run should have live processes mid-run"
    run.proc.send_signal(sig)
    code, out = run.wait(timeout=60)
    assert code != 0, out
    assert run.leftovers() == [], out
    res = results(run.report_dir)
    assert res["status"] == "interrupted"
    assert (run.report_dir / res["run_id"] / "run.json").exists()


@pytest.mark.slow  # a whole scenario run or more: handed out early
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


def reached(run, phase: str) -> bool:
    """Whether the run got to `phase`: startup (0.8 s after the command started: it is
    importing pytest; before its first lines of Python run, at most 0.1-0.3 s, nothing can
    catch a signal), setup (its run folder is there), chaos (200 requests recorded),
    check (a check-phase read recorded)."""
    if phase == "startup":
        return time.monotonic() - run.started > 0.8
    histories = list(run.report_dir.glob("*/history.jsonl"))
    if phase == "setup":
        return bool(list(run.report_dir.glob("*/run.json")))
    text = histories[0].read_text(errors="replace") if histories else ""
    if phase == "chaos":
        return text.count("\n") >= 200
    return '"check_read"' in text


@pytest.mark.parametrize(
    "phase, sig",
    [
        ("startup", signal.SIGINT),
        ("startup", signal.SIGTERM),
        ("setup", signal.SIGHUP),
        ("chaos", signal.SIGHUP),
        ("check", signal.SIGTERM),
        ("check", signal.SIGINT),
    ],
)
def test_a_signal_in_any_phase_is_interrupted_exit_3_without_a_traceback(subpytest, phase, sig):
    run = subpytest(["run", "smoke", "--seed", "11"], cli=True)
    deadline = time.monotonic() + 90
    while not reached(run, phase) and time.monotonic() < deadline and run.proc.poll() is None:
        time.sleep(0.01)
    assert run.proc.poll() is None, f"the run ended before {phase}"
    run.proc.send_signal(sig)
    code, out = run.wait(timeout=60)
    assert code == 3, out
    assert "interrupted" in out and "Traceback" not in out, out
    assert run.leftovers() == [], out
    for res in run.report_dir.glob("*/results.json"):  # a run folder, if it got that far
        assert json.loads(res.read_text())["status"] == "interrupted"
        assert (res.parent / "index.html").exists()


def test_a_second_interrupt_does_not_cut_the_teardown_short(subpytest):
    run = subpytest(["run", "smoke", "--seed", "11", "--scale", "4"], cli=True)  # under way
    wait_for_history(run.report_dir, 200)
    run.proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    run.proc.send_signal(signal.SIGINT)  # while the first one's teardown runs
    code, out = run.wait(timeout=60)
    assert code == 3, out
    assert "finishing the teardown and the report" in out, out
    assert run.leftovers() == [], out
    res = results(run.report_dir)
    assert res["status"] == "interrupted"
    assert (run.report_dir / res["run_id"] / "index.html").exists()
    assert (run.report_dir / "index.html").exists()  # the dashboard too


def harness_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120
    )


def test_a_dead_run_is_told_from_a_live_one(subpytest):
    """report refuses a live run (exit 3); after kill -9 of its harness, report, the
    dashboard and the next session read it as interrupted and render what was recorded."""
    run = subpytest([SMOKE, "--chaos-seed", "11", "--chaos-scale", "4"])  # still under way
    wait_for_history(run.report_dir, 200)
    (run_dir,) = run.report_dir.glob("*-smoke-*")
    live = harness_cli("report", str(run_dir))
    assert live.returncode == 3 and "is still running (harness pid" in live.stderr, live
    run.proc.kill()  # kill -9 of the harness: no teardown, no results.json
    run.proc.wait()
    deadline = time.monotonic() + 10
    while run.leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)  # the watchdog takes them down
    assert run.leftovers() == []
    assert not (run_dir / "results.json").exists()
    out = subprocess.run(  # the next session that runs a scenario, same report folder
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--chaos-report-dir={run.report_dir}", "tests/data/noop_scenario.py"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "1 runs in" in out.stderr and "marked interrupted" in out.stderr, out.stderr
    assert json.loads((run_dir / "results.json").read_text())["status"] == "interrupted"
    assert (run_dir / "index.html").exists()
    again = harness_cli("report", str(run_dir))
    assert again.returncode == 3 and again.stdout.startswith("interrupted"), again
    assert "interrupted" in (run.report_dir / "index.html").read_text()


def test_a_full_disk_while_writing_a_report_is_could_not_run(tmp_path):
    """ENOSPC while writing a report: exit 3 with a message, no traceback, the report
    already there untouched and no temporary file left. A private tmpfs (unshare -m)."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs `unshare -m` (root) for a private small file system")
    run_dir = tmp_path / "src" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text('{"scenario": "smoke", "seed": 1, "status": "passed"}')
    (run_dir / "results.json").write_text('{"status": "passed", "verdicts": [], "valid": true}')
    disk = tmp_path / "disk"
    disk.mkdir()
    script = f"""
set -e
mount -t tmpfs -o size=128k tmpfs {disk}
cp -r {run_dir} {disk}/
{sys.executable} -m harness report {disk}/r1 > /dev/null
md5sum {disk}/r1/index.html > {tmp_path}/before
dd if=/dev/zero of={disk}/fill bs=1k 2> /dev/null || true
set +e
{sys.executable} -m harness report {disk}/r1 > {tmp_path}/out 2>&1
echo $? > {tmp_path}/rc
md5sum -c {tmp_path}/before > /dev/null && echo same > {tmp_path}/kept
ls -a {disk} {disk}/r1 > {tmp_path}/files
"""
    subprocess.run(["unshare", "-m", "sh", "-c", script], check=True, timeout=120)
    out = (tmp_path / "out").read_text()
    assert (tmp_path / "rc").read_text().strip() == "3", out
    assert "could not write the report: No space left on device" in out, out
    assert "Traceback" not in out
    assert (tmp_path / "kept").exists(), "the report already there was touched"
    assert ".tmp" not in (tmp_path / "files").read_text()


def test_a_read_only_report_dir_is_bad_input_before_anything_runs(tmp_path):
    """A --report-dir on a read-only file system (a private read-only tmpfs): exit 2 at
    once, no traceback, nothing started."""
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs `unshare -m` (root) for a private read-only file system")
    ro = tmp_path / "ro"
    ro.mkdir()
    script = f"""
mount -t tmpfs -o size=64k,ro tmpfs {ro}
{sys.executable} -m harness run smoke --seed 1 --report-dir {ro}/reports > {tmp_path}/out 2>&1
echo $? > {tmp_path}/rc
"""
    t0 = time.monotonic()
    subprocess.run(["unshare", "-m", "sh", "-c", script], check=True, timeout=120)
    out = (tmp_path / "out").read_text()
    assert (tmp_path / "rc").read_text().strip() == "2", out
    assert "cannot write in" in out and "Read-only file system" in out, out
    assert "Traceback" not in out
    assert time.monotonic() - t0 < 30  # a generous ceiling: about 1 s


def cmdline(p: psutil.Process) -> str:
    """A process's command line; "" for one that is exiting (a zombie) or gone."""
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


def test_kill_9_mid_run_with_a_forking_service_leaves_nothing(subpytest):
    """A command service that forks (the server in a child, plus a grandchild that leaves
    its group with setsid), and kill -9 of the harness mid-run: the watchdog takes down
    everything the run started."""
    serve = f"{sys.executable} -m harness.runtime.serve harness.bundled.services.counter:app $PORT"
    app = f"counter=cmd:{serve} & setsid sleep 300 & wait"
    run = subpytest([SMOKE, "--chaos-seed", "11", "--chaos-scale", "4", "--chaos-app", app])
    wait_for_history(run.report_dir, 200)
    assert any("sleep" in cmdline(p) for p in run.leftovers())
    run.proc.kill()
    run.proc.wait()
    deadline = time.monotonic() + 15
    while run.leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.leftovers() == []
