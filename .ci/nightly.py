"""The nightly chaos job, as the workflow runs it and as anyone can run it locally.

    .ci/nightly [SCENARIO ...|all] [--seed N] [--sweep K] [--long] [--jobs N] [--out DIR]
                [--shard I/N]                     one part of the sweep (a CI matrix job)
    .ci/nightly --merge PART_OUT... [--out DIR]   join the parts' outputs (the merge job)
    .ci/nightly --shards N [...]                  all N parts here at once, then the merge

Runs `restate-chaos run` over the scenarios with a fresh random seed (printed and recorded)
unless one is given, and leaves in OUT (default nightly-out/): junit.xml, reports/ (the run
folders and the dashboard), summary.md (a table of scenario, seed, verdict and report, and
the reproduce command of every failure; also appended to $GITHUB_STEP_SUMMARY when set),
seed.txt, and corpus-candidates.txt: one line per failing run to add to tests/corpus.txt,
so that the regular tests replay that seed from then on. A violated run is shrunk to a
minimal reproduction within --shrink-budget seconds (all failures together; 0: no
shrinking): its steps and result sit next to the run folder (RUN-shrink/), and summary.md
gives its size, story and replay command. With --long it also runs every
negative control on 3 seeds (junit-controls.xml). Exits with `restate-chaos run`'s code
(0 passed, 1 violated, 2 bad input, 3 could not run, 4 inconclusive), or the controls' when
the scenarios passed.

Sharded (the workflow's matrix): every part gets the same command, seed and `--shard I/N`
(the controls are split too) and leaves its output as above; `--merge` then joins the
parts' run folders, dashboards and JUnit files into one OUT and writes one summary, and
exits 3 naming any part that is missing. `--shards N` runs the same steps on this machine:
N parts as N processes at once (`--jobs 1` each), then the merge.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path

from harness.manifest import rerun_command, without_options

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_dirs(reports: Path) -> list[Path]:
    return sorted(p for p in reports.iterdir() if (p / "run.json").is_file())


def corpus_line(manifest: dict, results: dict) -> str:
    """The tests/corpus.txt line that replays this run: scenario, seed, overrides, and why."""
    failed = [v["id"] for v in results.get("verdicts", []) if v.get("valid") is not True]
    versions = manifest.get("versions", {})
    tokens, prefix = rerun_command(manifest)  # restate-chaos run NAME --seed S [ARGS]
    args = shlex.join(tokens[5:]) if prefix == "--" else ""
    return (
        f"{manifest['scenario']} {manifest['seed']}{' ' + args if args else ''}  # "
        f"{results.get('status')} {time.strftime('%Y-%m-%d')}: {', '.join(failed) or '-'}; "
        f"restate-server {versions.get('restate_server')}, restate-sdk "
        f"{versions.get('restate_sdk')}, git {manifest.get('git', {}).get('sha', '?')[:12]}"
    )


def minimal_note(m: dict) -> str:
    """A shrunk failure in summary.md: its size, success rate, replay command and story."""
    if not m.get("reproduced"):
        return "  - shrink: the violation did not come back on a rerun of its faults"
    small, rate = m["minimal"], m.get("success_rate")
    told = "\n".join(m.get("story", []))
    return (
        f"  - minimal reproduction: {small['faults']} fault(s), {small['ops']} request(s) "
        f"(of {m['original']['faults']} and {m['original']['ops']})"
        + (f", violated in {rate:.0%} of {m['confirm_runs']} reruns" if rate is not None else "")
        + f": `{m['command']}`\n\n    ```\n"
        + "".join(f"    {line}\n" for line in told.splitlines())
        + "    ```"
    )


def summarize(reports: Path, seed: int, code: int) -> tuple[str, list[str]]:
    rows, failures, corpus = [], [], []
    for d in run_dirs(reports):
        manifest = json.loads((d / "run.json").read_text())
        results_path = d / "results.json"
        results = json.loads(results_path.read_text()) if results_path.is_file() else {}
        status = results.get("status", manifest.get("status", "?"))
        link = f"reports/{d.name}/index.html"
        rows.append(
            f"| {manifest['scenario']} | {manifest['seed']} | {status} | [{d.name}]({link}) |"
        )
        bad = [v for v in results.get("verdicts", []) if v.get("valid") is not True]
        known = sorted({v["known"] for v in bad if v.get("known")})
        if status != "passed":
            failures.append(
                f"- {manifest['scenario']} seed {manifest['seed']} ({status}): "
                f"`{manifest['reproduce']}`"
                + "".join(f"\n  - known upstream bug: {k}" for k in known)
            )
            minimal = d / "minimal.json"
            if minimal.is_file():
                failures.append(minimal_note(json.loads(minimal.read_text())))
            # a violation that is all known upstream bugs is no new finding for the corpus
            if status in ("failed", "unknown") and not all(v.get("known") for v in bad):
                corpus.append(corpus_line(manifest, results))
    lines = [
        f"## restate-chaos nightly: seed {seed}, exit {code}",
        "",
        f"{len(rows)} run(s); dashboard: reports/index.html",
        "",
        "| scenario | seed | verdict | report |",
        "| --- | --- | --- | --- |",
        *rows,
    ]
    if failures:
        lines += ["", "### Failures: reproduce with", "", *failures]
    if corpus:
        lines += [
            "",
            "### Add to tests/corpus.txt (the regular tests then replay these seeds)",
            "",
            "```",
            *corpus,
            "```",
        ]
    return "\n".join(lines) + "\n", corpus


def publish(out: Path, seed: int, code: int) -> None:
    """summary.md and corpus-candidates.txt of the runs in OUT/reports (also to the job's
    summary on GitHub)."""
    (out / "reports").mkdir(parents=True, exist_ok=True)
    summary, corpus = summarize(out / "reports", seed, code)
    (out / "summary.md").write_text(summary)
    (out / "corpus-candidates.txt").write_text("".join(line + "\n" for line in corpus))
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as f:
            f.write(summary)
    print(summary)


def merge_parts(parts: list[Path], out: Path) -> int:
    """The merge job: one OUT from the parts' outputs."""
    seeds = {
        p.joinpath("seed.txt").read_text().strip() for p in parts if (p / "seed.txt").is_file()
    }
    seed = int(seeds.pop()) if len(seeds) == 1 else -1  # -1: the parts disagree (named below)
    out.mkdir(parents=True, exist_ok=True)
    (out / "seed.txt").write_text(f"{seed}\n")
    cmd = [str(BIN / "restate-chaos"), "merge", *map(str, parts),
           "--report-dir", str(out / "reports"), "--junitxml", str(out / "junit.xml")]  # fmt: skip
    print("+ " + " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=REPO).returncode
    publish(out, seed, code)
    return code


def run_shards(n: int, argv: list[str], out: Path, seed: int) -> int:
    """`--shards N`: the workflow's steps here, N parts as N processes, then the merge."""
    parts = [out / "parts" / str(i) for i in range(1, n + 1)]
    procs = [
        subprocess.Popen([sys.executable, __file__, *argv, "--seed", str(seed), "--jobs", "1",
                          "--shard", f"{i}/{n}", "--out", str(part)], cwd=REPO)
        for i, part in enumerate(parts, 1)
    ]  # fmt: skip
    for p in procs:
        p.wait()
    return merge_parts(parts, out)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shard", metavar="I/N", help="run part I of N of the sweep")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="PART_OUT", help="merge parts")
    parser.add_argument("--shards", type=int, metavar="N", help="run N parts here, then merge")
    parser.add_argument("scenarios", nargs="*", default=["all"])
    parser.add_argument("--seed", type=int, help="first seed (default: fresh and random)")
    parser.add_argument("--sweep", type=int, default=1, help="seeds per scenario")
    parser.add_argument("--long", action="store_true", help="also every control, 3 seeds")
    parser.add_argument("--jobs", type=int, default=2, help="scenarios at a time")
    parser.add_argument("--out", type=Path, default=Path("nightly-out"))
    parser.add_argument(
        "--shrink-budget", type=float, default=900, help="seconds to shrink failures (0: none)"
    )
    args, extra = parser.parse_known_args()
    if args.merge:
        return merge_parts([p.resolve() for p in args.merge], args.out.resolve())
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    if args.shards:
        # the same command for every part, less what each part gets of its own
        argv = without_options(sys.argv[1:], ["--shards", "--seed", "--jobs", "--out"])
        return run_shards(args.shards, argv, args.out.resolve(), seed)
    shard = ["--shard", args.shard] if args.shard else []
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "seed.txt").write_text(f"{seed}\n")
    print(f"nightly seed: {seed} (reproduce any run with its own command in summary.md)")
    cmd = [
        str(BIN / "restate-chaos"),
        "run",
        *args.scenarios,
        "--seed",
        str(seed),
        "--sweep",
        str(args.sweep),
        "--jobs",
        str(args.jobs),
        "--report-dir",
        str(out / "reports"),
        f"--junitxml={out / 'junit.xml'}",
        *(["--shrink", "--shrink-budget", str(args.shrink_budget)] if args.shrink_budget else []),
        *shard,
        *extra,
    ]
    print("+ " + " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=REPO).returncode
    publish(out, seed, code)
    if args.long:
        controls = [
            str(BIN / "pytest"),
            "-n",
            str(args.jobs),
            "--long",
            "-p",
            "no:cacheprovider",
            "tests/test_scenarios.py",
            "-k",
            "negative_control",
            f"--junitxml={out / 'junit-controls.xml'}",
            # the same split as the scenarios': the part's seed decides it
            f"--chaos-seed={seed}",
            f"--chaos-report-dir={out / 'reports-controls'}",
            *([f"--chaos-shard={args.shard}"] if args.shard else []),
        ]
        print("+ " + " ".join(controls), flush=True)
        controls_code = subprocess.run(controls, cwd=REPO).returncode
        code = code or controls_code
    return code


if __name__ == "__main__":
    sys.exit(main())
