"""The failing-seed corpus (tests/corpus.txt): every entry is replayed and must pass now."""

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CORPUS = REPO / "tests" / "corpus.txt"


def entries(path: Path) -> list[list[str]]:
    """`restate-chaos run` arguments of each corpus line (comments and blanks skipped)."""
    out = []
    for line in path.read_text().splitlines():
        words = shlex.split(line.partition("#")[0])
        if words:
            scenario, seed, *rest = words
            out.append([scenario, "--seed", str(int(seed)), *rest])
    return out


def test_corpus_lines_parse(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "# a comment\n\n"
        "payments 812 --app 'payments=x.y:app'  # failed 2026-11-22: exactly_once:charge\n"
        "smoke 5\n"
    )
    assert entries(corpus) == [
        ["payments", "--seed", "812", "--app", "payments=x.y:app"],
        ["smoke", "--seed", "5"],
    ]
    entries(CORPUS)  # the real one parses


@pytest.mark.parametrize("args", entries(CORPUS), ids=lambda a: f"{a[0]}-{a[2]}")
def test_corpus_entry_passes_now(args, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", *args, "--report-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-4000:]
