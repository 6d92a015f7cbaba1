"""The suite's cost: every bundled scenario with one seed, two at a time (the default) against
one at a time, with how the faults landed in each, and per phase; then a soak of one
scenario at 1x, 4x and 16x scale, with time and the harness's peak memory.

Runs `python -m harness run ...` as a user would (one process: the harness, with pytest
in it), in a temporary report folder. Prints figures and ratios (soak: against the 1x run
of the same bench run); nothing is asserted.

    .venv/bin/python bench/suite.py [--seed 5] [--soak smoke] [--scales 1 4 16] [--skip-suite]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from harness.report.render import render
from harness.workload.history import percentile, read, recovery

PHASES = (
    "world_start",
    "server_start",
    "start_and_register",
    "preflight",
    "chaos",
    "heal",
    "quiesce",
    "final_reads",
    "check",
    "render",
    "teardown",
)


def run_cli(args: list[str], report_dir: Path) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) of the harness process, exit code."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", *args, "--report-dir", str(report_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ps, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.1)
    return time.monotonic() - t0, peak / 2**20, proc.returncode


def phases(run_dir: Path) -> dict[str, float]:
    timings = json.loads((run_dir / "results.json").read_text()).get("timings", {})
    out: dict[str, float] = {}
    for name, value in timings.items():
        key = "start_and_register" if name.endswith("_start_and_register") else name
        out[key] = out.get(key, 0.0) + value
    t0 = time.monotonic()
    render(run_dir)  # the same work finish() did
    out["render"] = time.monotonic() - t0
    return out


def fault_landing(runs: list[Path]) -> str:
    """Whether faults still land where they were aimed: in flight, and (event-window
    faults) within their window, with the lag from the event to the fault."""
    starts = [
        r
        for run in runs
        for r in map(json.loads, (run / "faults.jsonl").read_text().splitlines())
        if r["type"] == "fault-start"
    ]
    window = [r for r in starts if "window_ms" in r]
    lags = [r["event_lag_ms"] for r in window if r.get("event_lag_ms") is not None]
    return (
        f"{sum(bool(r.get('landed')) for r in starts)} of {len(starts)} faults landed in "
        f"flight, {sum(bool(r.get('landed')) for r in window)} of {len(window)} window "
        f"faults in their window (event lag median {statistics.median(lags or [0]):.1f} ms, "
        f"max {max(lags or [0]):.1f} ms)"
    )


def pooled_recovery(runs: list[Path]) -> str:
    """Recovery per fault kind over all runs: from the process back to the first answer of
    a request in flight at the fault (p50, p99), leaving out those another fault cut short."""
    times: dict[str, list[float]] = {}
    cut: dict[str, int] = {}
    for run in runs:
        for r in recovery(read(run / "history.jsonl")):
            what = f"{r['kind']} {'server' if r['target'] == 'server' else 'service'}"
            if "cut_short" in r:
                cut[what] = cut.get(what, 0) + 1
            elif r["after"] is not None:
                times.setdefault(what, []).append(r["after"])
    return "; ".join(
        f"{k}: n {len(v)}, p50 {percentile(v, 50):.2f} s, p99 {percentile(v, 99):.2f} s"
        f" ({cut.get(k, 0)} cut short by the next fault)"
        for k, v in sorted(times.items())
    )


def suite(seed: int, tmp: Path) -> None:
    """`run all` as two scenarios at a time (the default on 2 cores), against one at a
    time (the reference), with how faults landed in each."""
    took2, peak2, code2 = run_cli(["all", "--seed", str(seed)], tmp / "suite-2")
    runs2 = sorted(p for p in (tmp / "suite-2").iterdir() if (p / "results.json").is_file())
    took, peak, code = run_cli(["all", "--seed", str(seed), "--jobs", "1"], tmp / "suite")
    runs = sorted(p for p in (tmp / "suite").iterdir() if (p / "results.json").is_file())
    print(
        f"suite: `run all --seed {seed}` (2 jobs, the default on 2 cores): {took2:.0f} s, "
        f"{took2 / took:.2f}x `--jobs 1` (exit {code2}, harness peak {peak2:.0f} MB)"
    )
    print(f"  2 jobs: {fault_landing(runs2)}")
    print(f"  1 job:  {fault_landing(runs)}")
    print(f"  recovery, 2 jobs: {pooled_recovery(runs2)}")
    print(f"  recovery, 1 job:  {pooled_recovery(runs)}")
    print(f"suite: harness peak memory {peak:.0f} MB")
    statuses = [json.loads((p / "results.json").read_text())["status"] for p in runs]
    per_run = [phases(p) for p in runs]
    print(
        f"suite: `run all --seed {seed} --jobs 1`: {len(runs)} scenarios in {took:.0f} s "
        f"(exit {code})"
    )
    print("  statuses: " + ", ".join(f"{s} {statuses.count(s)}" for s in sorted(set(statuses))))
    print(f"  {'phase':20} {'total s':>8} {'median s':>9} {'max s':>7} {'share':>6}")
    grand = sum(sum(p.values()) for p in per_run)
    for phase in PHASES:
        vs = [p.get(phase, 0.0) for p in per_run]
        print(
            f"  {phase:20} {sum(vs):8.1f} {statistics.median(vs):9.2f} {max(vs):7.2f} "
            f"{sum(vs) / grand:6.0%}"
        )
    print(f"  {'outside the phases':20} {took - grand:8.1f}   (pytest, imports, dashboard)")


def soak(scenario: str, scales: list[int], seed: int, tmp: Path) -> None:
    print(f"\nsoak: {scenario} --seed {seed} at scales {scales}")
    head = ("scale", "requests", "faults", "s", "x 1x", "peak MB", "status")
    print("  {:>5} {:>9} {:>6} {:>7} {:>6} {:>8} {:>8}".format(*head))
    base = None
    for scale in scales:
        out = tmp / f"soak-{scale}"
        took, peak, _ = run_cli([scenario, "--seed", str(seed), "--scale", str(scale)], out)
        run_dir = next(p for p in out.iterdir() if (p / "results.json").is_file())
        results = json.loads((run_dir / "results.json").read_text())
        requests = results["stats"].get("driver", {}).get("requests", 0)
        faults = sum(1 for line in (run_dir / "faults.jsonl").open() if '"fault-start"' in line)
        base = base or took
        print(
            f"  {scale:5} {requests:9} {faults:6} {took:7.1f} {took / base:6.2f} {peak:8.0f} "
            f"{results['status']:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--soak", default="smoke")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--skip-suite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        if not args.skip_suite:
            suite(args.seed, Path(d))
        soak(args.soak, args.scales, args.seed, Path(d))


if __name__ == "__main__":
    main()
