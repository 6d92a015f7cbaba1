"""The Docker backend against the process backend, measured in the same run.

Runs the same scenarios with the same seed on both backends, alternating, and prints each
round's wall time, each scenario's run time on both, the docker/process ratio, and the
median time from a fault's end (the restart) to ready per target kind. Needs an engine at
$DOCKER_HOST with the images of .ci/docker-setup. Nothing is asserted.

    DOCKER_HOST=... .venv/bin/python bench/backends.py [--rounds 2] [smoke payments sagas]
    DOCKER_HOST=... .venv/bin/python bench/backends.py --rounds 1 --jobs 2 --seed 300 all
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


def run(backend: str, scenarios: list[str], seed: int, jobs: int, report_dir: Path) -> float:
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", *scenarios, "--seed", str(seed),
         "--jobs", str(jobs), "--backend", backend, "--report-dir", str(report_dir)],
        capture_output=True, text=True,
    )  # fmt: skip
    took = time.monotonic() - t0
    if out.returncode != 0:
        sys.exit(f"{backend} run failed (exit {out.returncode}):\n{out.stdout[-2000:]}")
    return took


def ready_after(report_dir: Path) -> dict[str, list[float]]:
    """Seconds from each restart to ready, by target kind (server, service)."""
    out: dict[str, list[float]] = {"server": [], "service": []}
    for faults in report_dir.glob("*/faults.jsonl"):
        for line in faults.read_text().splitlines():
            r = json.loads(line)
            if r["type"] == "fault-end" and r.get("ready_after"):
                out["server" if r["target"] == "server" else "service"].append(r["ready_after"])
    return out


def durations(report_dirs: list[Path]) -> dict[str, float]:
    """Median run duration (run.json) per scenario over the given report folders."""
    runs: dict[str, list[float]] = {}
    for d in report_dirs:
        for manifest in d.glob("*/run.json"):
            m = json.loads(manifest.read_text())
            runs.setdefault(m["scenario"], []).append(m["duration"])
    return {name: statistics.median(v) for name, v in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=["smoke", "payments", "sagas"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1, help="scenarios at a time (run --jobs)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    walls: dict[str, list[float]] = {"process": [], "docker": []}
    for r in range(args.rounds):
        for backend in ("process", "docker"):
            took = run(backend, args.scenarios, args.seed, args.jobs, root / f"{backend}-{r}")
            walls[backend].append(took)
            print(f"round {r + 1} {backend:8} {took:6.1f} s")
    per = {b: durations([root / f"{b}-{r}" for r in range(args.rounds)]) for b in walls}
    print(f"\n{'scenario':24} {'process':>8} {'docker':>8}  ratio (median run seconds)")
    for name in sorted(per["process"]):
        p, d = per["process"][name], per["docker"].get(name, float("nan"))
        print(f"{name:24} {p:8.1f} {d:8.1f}  {d / p:.2f}")
    ratio = statistics.median(walls["docker"]) / statistics.median(walls["process"])
    print(f"\n{' '.join(args.scenarios)}, seed {args.seed}: docker / process wall = {ratio:.2f}x")
    for backend in ("process", "docker"):
        ready: dict[str, list[float]] = {"server": [], "service": []}
        for r in range(args.rounds):
            for kind, values in ready_after(root / f"{backend}-{r}").items():
                ready[kind] += values
        line = ", ".join(
            f"{kind} {statistics.median(v) * 1000:.0f} ms (n={len(v)})"
            for kind, v in ready.items()
            if v
        )
        print(f"restart to ready, {backend:8}: {line}")


if __name__ == "__main__":
    main()
