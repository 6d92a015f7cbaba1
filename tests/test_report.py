"""Reports: rendered from the run directory, re-analysable with the same verdicts."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO


def harness(*args):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def stored_runs(tmp_path_factory):
    """One passing and one violated run of the payments scenario."""
    root = tmp_path_factory.mktemp("runs")
    good = harness("run", "payments", "--seed", "21", "--report-dir", str(root / "good"))
    assert good.returncode == 0, good.stdout
    bad = harness(
        "run",
        "payments",
        "--seed",
        "21",
        "--report-dir",
        str(root / "bad"),
        "--app",
        "payments=services.broken.payments_random_key:app",
    )
    assert bad.returncode == 1, bad.stdout
    return [next((root / k).iterdir()) for k in ("good", "bad")]


def test_reanalysis_gives_the_same_verdicts(stored_runs):
    for run_dir, code in zip(stored_runs, (0, 1), strict=True):
        before = json.loads((run_dir / "results.json").read_text())
        (run_dir / "index.html").unlink()
        out = harness("report", str(run_dir))
        assert out.returncode == code, out.stdout + out.stderr
        after = json.loads((run_dir / "results.json").read_text())
        assert after["verdicts"] == before["verdicts"]
        assert after["status"] == before["status"]
        assert (run_dir / "index.html").is_file()


def test_report_shows_verdicts_evidence_and_reproduce_command(stored_runs):
    good, bad = ((d / "index.html").read_text() for d in stored_runs)
    assert "no double charge" in good and "0 duplicate charges" in good
    assert "--chaos-seed 21" in good
    assert "failed" in bad and "effective charges" in bad and "counterexample" in bad
    assert "http://" not in good.replace("http://127.0.0.1", "")  # nothing loads off-machine


def test_report_of_something_that_is_not_a_run_is_a_clear_error(tmp_path):
    out = harness("report", str(tmp_path))
    assert out.returncode == 2
    assert "is not a run directory" in out.stderr
