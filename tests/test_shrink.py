"""Shrinking: delta debugging on synthetic failure predicates (deterministic and flaky),
and one end-to-end shrink of a negative control's violated run."""

import json
import random
import subprocess
import sys

import pytest

from harness.shrink import Budget, ddmin, split
from tests.conftest import REPO
from tests.test_scenarios import NEGATIVE_CONTROLS


def test_split_makes_n_near_equal_contiguous_chunks():
    assert split(list(range(7)), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split([1], 4) == [[1]]


@pytest.mark.parametrize("culprits", [{7}, {3, 61}, {0, 1, 99}, {10, 11, 12, 50}])
def test_ddmin_finds_exactly_the_culprits(culprits):
    calls = []

    def fails(xs):
        calls.append(len(xs))
        return culprits <= set(xs)

    assert sorted(ddmin(list(range(100)), fails)) == sorted(culprits)
    assert len(calls) < 120  # far fewer than the 2**100 subsets


def test_ddmin_keeps_order_and_returns_the_input_when_nothing_smaller_fails():
    assert ddmin(["a", "b", "c"], lambda xs: len(xs) == 3) == ["a", "b", "c"]
    assert ddmin([5, 4, 3, 2], lambda xs: {4, 2} <= set(xs)) == [4, 2]


def test_ddmin_with_a_flaky_predicate_and_k_tries_still_finds_the_culprit():
    """A failing candidate fails only half the time; with K = 5 tries per candidate (fails
    if one try fails) the search still ends on the culprit in most seeds."""
    found = 0
    for seed in range(20):
        rng = random.Random(seed)

        def flaky(xs, rng=rng):
            return any(17 in xs and rng.random() < 0.5 for _ in range(5))

        if ddmin(list(range(40)), flaky) == [17]:
            found += 1
    assert found >= 16  # a miss costs a larger result, never a wrong (passing) one


def test_ddmin_stops_at_its_budget_with_the_smallest_failing_set_so_far():
    budget = Budget(seconds=60, runs=3)

    def fails(xs):
        budget.used += 1
        return 5 in xs

    out = ddmin(list(range(64)), fails, budget)
    assert 5 in out and len(out) < 64 and budget.spent()


def test_shrink_refuses_a_run_that_held_and_a_folder_that_is_no_run(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"reproduce": "restate-chaos run smoke --seed 1"}))
    (run / "results.json").write_text(json.dumps({"status": "passed", "verdicts": []}))
    for target, words in ((run, "violated no guarantee"), (tmp_path, "not a finished run")):
        out = subprocess.run(
            [sys.executable, "-m", "harness", "shrink", str(target)],
            cwd=REPO, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 2 and words in out.stderr, out.stderr


@pytest.mark.slow
def test_a_violated_smoke_run_shrinks_to_a_few_requests_and_replays(tmp_path):
    """`run --shrink`: the in-memory counter (loses increments at a kill) violates with 2
    faults and 150 increments on 20 keys (OPS=150: the default 500 takes 21 runs to shrink,
    this 18, each shorter); the shrink ends on at most 1 fault and a few requests on one key
    or two, which violate again, and tells it as a story. The budget is a ceiling: ~50 s on
    two quiet cores, twice that on CI's busy workers."""
    app = "counter=harness.bundled.services.broken.counter_in_memory:app"
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", "smoke", "--seed", "200", "--app", app,
         "--param", "OPS=150", "--report-dir", str(tmp_path), "--shrink", "--shrink-budget",
         "150"],
        cwd=REPO, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout[-3000:]  # the run's own verdict stands
    (run_dir,) = [p for p in tmp_path.iterdir() if (p / "run.json").exists()]
    summary = json.loads((tmp_path / f"{run_dir.name}-shrink" / "shrink.json").read_text())
    assert summary["violated"] and summary["reproduced"], out.stdout[-3000:]
    minimal, original = summary["minimal"], summary["original"]
    assert minimal["faults"] <= 1 and len(minimal["keys"]) <= 2  # 1 given time; CI is busy
    assert minimal["ops"] <= original["ops"] // 10
    assert summary["success_rate"] >= 0.5 and "counters" in minimal["violated"]
    assert json.loads((run_dir / "minimal.json").read_text())["command"] == summary["command"]
    # every step is a normal run folder, with its evidence
    steps = list((tmp_path / f"{run_dir.name}-shrink" / "steps").glob("*/*/results.json"))
    assert len(steps) == summary["runs"]
    assert not list(steps[0].parent.parent.parent.glob("*/*/restate/n1/data"))  # 200 MB each
    assert not list(steps[0].parent.parent.parent.glob("*/*/index.html"))  # rendered on demand
    assert "--plan" in summary["command"] and "--subset" in summary["command"]
    # the story, in the terminal and in the original run's report
    assert summary["story"][-1].startswith("Then ") and "violated" in summary["story"][-1]
    assert any(line.strip().endswith("acknowledged: 1") for line in summary["story"])
    html = (run_dir / "index.html").read_text()
    assert 'id="minimal"' in html and summary["command"] in html.replace("&#34;", '"')
    assert "minimal reproduction:" in out.stdout and "replay: " in out.stdout
    # its replay command violates again
    replay = subprocess.run(
        [sys.executable, "-m", "harness", *summary["command"].split()[1:],
         "--report-dir", str(tmp_path / "replay")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert replay.returncode == 1, replay.stdout[-2000:]


@pytest.mark.parametrize(
    "scenario, control", NEGATIVE_CONTROLS, ids=[c.name for _, c in NEGATIVE_CONTROLS]
)
@pytest.mark.slow
@pytest.mark.timeout(1800)  # the run, a 900 s shrink, and its confirming reruns
def test_every_negative_control_shrinks_to_two_faults_and_a_tenth_of_the_requests(
    tmp_path, scenario, control, depth
):
    """The issue's bar, behind --long (2-15 minutes per control: bench/shrink_controls.py
    measures each): at most 2 faults and 10% of the requests, replaying the violation in at
    least half of 5 reruns."""
    if not depth["long"]:
        pytest.skip("the shrink of every control runs with --long")
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", scenario, "--seed", "200", *control.options(),
         "--report-dir", str(tmp_path), "--shrink", "--shrink-budget", "900"],
        cwd=REPO, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout[-3000:]
    (summary_path,) = tmp_path.glob("*-shrink/shrink.json")
    s = json.loads(summary_path.read_text())
    assert s["reproduced"], out.stdout[-3000:]
    assert s["minimal"]["faults"] <= 2, s["minimal"]
    assert s["minimal"]["ops"] <= s["original"]["ops"] / 10, (s["minimal"], s["original"])
    assert s["success_rate"] >= 0.5, s["steps"][-5:]


def fake_run(tmp_path):
    """A violated run folder with a few operations, for the shrinker's logic alone."""
    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"reproduce": "restate-chaos run x --seed 1"}))
    cx = {"key": "o2", "problem": "2 effective charges", "ops": [3]}
    verdict = {"id": "exactly_once:charge", "valid": False, "counterexamples": [cx]}
    (run / "results.json").write_text(json.dumps({"status": "failed", "verdicts": [verdict]}))
    lines = [{"type": "workload", "t": 0, "items": 6, "kept": 6, "keys": []}]
    for op, (item, idem) in enumerate([(0, "a"), (1, "b"), (2, "c"), (3, "c"), (4, "d")], 1):
        lines.append({"type": "invoke", "t": op, "op": op, "item": item, "idem": idem})
    (run / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return run


def test_a_flaky_smallest_reproduction_gives_way_to_a_larger_reliable_one(tmp_path):
    """The smallest candidate violates in 1 of 5 reruns, the next larger in 4 of 5: the
    shrink hands over the larger one and says what the smaller reached."""
    from harness.shrink import Candidate, Shrinker

    shrinker = Shrinker(fake_run(tmp_path), tmp_path / "out", confirm=5)
    big, mid, small = (
        Candidate([], items=[0, 1, 2, 3]),
        Candidate([], items=[2, 3]),
        Candidate([], items=[2]),
    )
    shrinker.chain = [big, mid, small]
    runs = {small.sig(): iter([1, 0, 0, 0, 0]), mid.sig(): iter([1, 1, 0, 1, 1])}

    def run(c):
        entry = {"candidate": c.sig(), "reproduced": bool(next(runs[c.sig()])), "ops": len(c.items)}
        shrinker.log.append(entry)
        return entry

    shrinker.run = run
    chosen, rate, over = shrinker.confirmed(small)
    assert chosen == mid and rate == 0.8
    assert over == [{"faults": 0, "ops": 1, "rate": 0.2}]


def test_the_counterexamples_requests_are_the_first_cut_of_the_workload(tmp_path):
    """Requests without a business key (a Service's calls) are cut by their position in the
    workload: first to those the counterexample names, with their retries and repeats."""
    from harness.shrink import Candidate, Shrinker, workload_keys

    shrinker = Shrinker(fake_run(tmp_path), tmp_path / "out")
    assert shrinker.targets == ["exactly_once:charge"] and workload_keys(shrinker.records) == []
    assert shrinker.witness_items(list(range(6))) == [2, 3]  # op 3 is "c", sent twice
    assert shrinker.kept_items(Candidate([]), 6) == list(range(6))  # no key cut: all six


def test_a_fault_is_anchored_on_the_last_world_event_of_a_counterexamples_key(tmp_path):
    """A kill that acted after a request count moves onto the world event of a key the
    counterexample names that came last before it, within ANCHOR_S (job3:1, not job1's later
    one, nor job3:2 from 2 s before); a fault with no such event stays where it was."""
    from harness.nemesis.faults import Fault
    from harness.shrink import Shrinker

    run = fake_run(tmp_path)
    (run / "results.json").write_text(json.dumps({"status": "failed", "verdicts": [
        {"id": "fanout", "valid": False, "counterexamples": [{"key": "job3"}]}]}))  # fmt: skip
    history = [{"type": "workload", "t": 0, "items": 2, "kept": 2, "keys": ["job1", "job3"]}]
    (run / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in history))
    starts = [{"type": "fault-start", "fault": i, "wall": w} for i, w in enumerate((100, 200))]
    (run / "faults.jsonl").write_text("".join(json.dumps(r) + "\n" for r in starts))
    calls = [
        {"wall": 98.0, "op": "event", "key": "job3:2", "outcome": "applied"},
        {"wall": 99.5, "op": "event", "key": "job3:1", "outcome": "applied"},
        {"wall": 99.6, "op": "event", "key": "job3:1", "outcome": "duplicate"},
        {"wall": 99.8, "op": "event", "key": "job1:1", "outcome": "applied"},
    ]
    (run / "ledger.json").write_text(json.dumps({"calls": calls}))
    faults = [Fault("kill", "worker", after_ops=30), Fault("kill", "worker", after_ops=60)]
    shrinker = Shrinker(run, tmp_path / "out")
    first, second = shrinker.anchored(faults, faults)
    assert first == Fault(
        "kill", "worker", on_event={"op": "event", "outcome": "applied", "key": "job3:1"}
    )
    assert first.downtime == faults[0].downtime and second is faults[1]
