"""Sharding a sweep across runners and merging the parts (harness/shard.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from harness.errors import BadInput
from harness.report.dashboard import collect
from harness.shard import Shard

SWEEP = [f"tests/data/shard/noop_{x}.py" for x in "abcd"]  # 4 scenarios that start nothing


def test_shard_spec_is_checked():
    assert Shard.parse("2/3") == Shard(2, 3)
    for bad in ("0/3", "4/3", "3", "a/b", ""):
        with pytest.raises(BadInput, match="expected I/N with 1 <= I <= N"):
            Shard.parse(bad)


def test_parts_are_disjoint_balanced_and_together_the_whole():
    ids = [f"scenario_{s}.py::test[seed={k}]" for s in "abcdefg" for k in range(9)]
    for n in (1, 2, 3, 5):
        parts = [Shard(i, n).pick(ids, seed=41) for i in range(1, n + 1)]
        assert sorted(i for p in parts for i in p) == sorted(ids)  # each id exactly once
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
        assert parts == [Shard(i, n).pick(list(reversed(ids)), 41)[::-1] for i in range(1, n + 1)]
    # the first seed decides the split: another sweep, another split, same sizes
    assert Shard(1, 3).pick(ids, 41) != Shard(1, 3).pick(ids, 42)


def pytest_run(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SWEEP, *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def merge(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness", "merge", *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def rows(report_dir: Path) -> list[tuple[str, int, str]]:
    return sorted(
        (sc, r["seed"], r["status"]) for sc, runs in collect(report_dir).items() for r in runs
    )


def test_three_shards_run_the_sweep_once_and_merge_to_the_unsharded_dashboard(tmp_path):
    """4 scenarios x 6 seeds as 3 shard processes at once: each pair runs once, the merged
    dashboard has the rows of the same sweep run whole, a missing part is named."""
    sweep = ["--chaos-seed", "500", "--chaos-sweep", "6"]
    procs = [
        pytest_run([*sweep, f"--chaos-shard={i}/3", f"--chaos-report-dir={tmp_path / f'p{i}'}",
                    f"--junitxml={tmp_path / f'p{i}' / 'junit.xml'}"])
        for i in (1, 2, 3)
    ]  # fmt: skip
    whole = pytest_run([*sweep, f"--chaos-report-dir={tmp_path / 'whole'}"])
    for p in [*procs, whole]:
        out, _ = p.communicate(timeout=300)
        assert p.returncode in (0, 1), out  # noop runs have no verdict: not a crash
    parts = [tmp_path / f"p{i}" for i in (1, 2, 3)]
    ran = [tuple(r[:2]) for p in parts for r in rows(p)]
    assert len(ran) == 24 and len(set(ran)) == 24  # each scenario x seed exactly once
    assert Counter(sc for sc, _ in ran) == dict.fromkeys(
        ["noop_a", "noop_b", "noop_c", "noop_d"], 6
    )
    assert all(6 <= len(rows(p)) <= 10 for p in parts)
    markers = [json.loads((p / f"shard-{i}-of-3.json").read_text()) for i, p in enumerate(parts, 1)]
    assert {m["total"] for m in markers} == {24} and sum(len(m["ran"]) for m in markers) == 24

    out = merge(*parts, "--report-dir", tmp_path / "merged", "--junitxml", tmp_path / "j.xml")
    assert out.returncode == 4 and "24 run(s) from 3 part(s) of 3" in out.stdout, out
    assert rows(tmp_path / "merged") == rows(tmp_path / "whole")
    assert (tmp_path / "merged" / "index.html").is_file()
    assert (tmp_path / "j.xml").read_text().count("<testcase") == 24

    short = merge(parts[0], parts[2], "--report-dir", tmp_path / "short")
    assert short.returncode == 3 and "part 2 of 3: missing" in short.stderr, short
    assert len(rows(tmp_path / "short")) == len(rows(parts[0])) + len(rows(parts[2]))
