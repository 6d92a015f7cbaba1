"""--backend docker: restate-server and the services as containers, faulted through the
Docker API. Runs where an engine serves $DOCKER_HOST with the images of .ci/docker-setup;
skipped with the reason elsewhere."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

# skipped with the reason where no engine runs; slow: handed out first (conftest)
pytestmark = [pytest.mark.docker, pytest.mark.slow]


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "run", *args, "--backend", "docker"],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def containers_of(run_dir) -> list[str]:
    """Containers still labelled with this run (there must be none after it)."""
    run_id = run_dir.name
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=restate-chaos.run={run_id}"],
        capture_output=True, text=True, env=os.environ,
    )  # fmt: skip
    return out.stdout.split()


def test_scenarios_pass_as_containers_and_leave_none(tmp_path, depth):
    """smoke, payments and a timer scenario (tickets), every fault through the Docker API:
    1 seed each, 3 with --long."""
    seeds = 3 if depth["long"] else 1
    out = run_cli(
        "smoke", "payments", "tickets", "--seed", "100", "--sweep", str(seeds), "--jobs", "2",
        "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:]
    runs = sorted(p for p in tmp_path.iterdir() if (p / "run.json").exists())
    assert len(runs) == 3 * seeds
    for run_dir in runs:
        manifest = json.loads((run_dir / "run.json").read_text())
        assert manifest["backend"] == "docker" and manifest["status"] == "passed"
        assert {s["backend"] for s in manifest["services"].values()} == {"docker"}
        assert "--backend docker" in manifest["reproduce"]
        kills = [
            json.loads(line)
            for line in (run_dir / "faults.jsonl").read_text().splitlines()
            if '"fault-start"' in line
        ]
        # most faults landed; one that did not (a window kill that acted too late, behind a
        # fault on the same container or a slow API call; a cut of the path while a kill
        # had the service down) is reported missed with its reason, and the run still
        # passed its vacuity check
        landed = [k for k in kills if k["landed"]]
        assert kills and len(landed) * 2 >= len(kills), kills
        assert all(k["landed"] or k["missed"] for k in kills), kills
        assert (run_dir / "logs").is_dir()
        assert (run_dir / "restate" / "n1" / "restate-server.log").exists()
        assert "(docker)" in (run_dir / "index.html").read_text()
        assert containers_of(run_dir) == []


def test_a_service_image_of_your_own_runs_with_docker_app(tmp_path):
    """--app NAME=docker:IMAGE: any image serving $PORT (here the counter, built on the
    Python image with its own command, as a Go or Java service image would be)."""
    (tmp_path / "Dockerfile").write_text(
        "FROM restate-chaos/python:latest\n"
        'CMD python -m harness.runtime.serve harness.bundled.services.counter:app "$PORT"\n'
    )
    image = "restate-chaos/test-counter:latest"
    built = subprocess.run(["docker", "build", "-q", "-t", image, str(tmp_path)],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stderr
    out = run_cli("smoke", "--seed", "100", "--app", f"counter=docker:{image}",
                  "--report-dir", str(tmp_path / "r"))  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:]
    (run_dir,) = (tmp_path / "r").glob("*-smoke-*")
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["services"]["counter"]["app"] == f"docker:{image}"
    assert containers_of(run_dir) == []


def test_a_broken_service_is_flagged_as_a_container(tmp_path):
    app = "counter=harness.bundled.services.broken.counter_in_memory:app"
    out = run_cli("smoke", "--seed", "200", "--app", app, "--report-dir", str(tmp_path))
    assert out.returncode == 1, out.stdout[-3000:]
    assert "counters: False" in out.stdout
    (run_dir,) = tmp_path.glob("*-smoke-*")
    assert containers_of(run_dir) == []


def test_kill_9_of_the_harness_leaves_no_container(subpytest):
    """The watchdog removes the run's containers when the harness dies without teardown."""
    import time

    from tests.test_hygiene import wait_for_history

    run = subpytest(
        ["scenarios/scenario_smoke.py", "--chaos-seed", "11", "--chaos-backend", "docker"]
    )
    wait_for_history(run.report_dir, 200)
    (run_dir,) = run.report_dir.glob("*-smoke-*")
    assert len(containers_of(run_dir)) == 2  # the server and the counter
    run.proc.kill()
    run.proc.wait()
    deadline = time.monotonic() + 30
    while containers_of(run_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers_of(run_dir) == []
