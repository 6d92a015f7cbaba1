"""The Docker backend against the process backend, measured in the same run.

Runs the same scenarios with the same seed on both backends, alternating, and prints each
round's wall time, the docker/process ratio, and the median time from a fault's end (the
restart) to ready per target kind. Needs an engine at $DOCKER_HOST with the images of
.ci/docker-setup. Nothing is asserted.

    DOCKER_HOST=... .venv/bin/python bench/backends.py [--rounds 2] [smoke payments sagas]
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


def run(backend: str, scenarios: list[str], seed: int, report_dir: Path) -> float:
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", *scenarios, "--seed", str(seed),
         "--backend", backend, "--report-dir", str(report_dir)],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=["smoke", "payments", "sagas"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=100)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    walls: dict[str, list[float]] = {"process": [], "docker": []}
    for r in range(args.rounds):
        for backend in ("process", "docker"):
            took = run(backend, args.scenarios, args.seed, root / f"{backend}-{r}")
            walls[backend].append(took)
            print(f"round {r + 1} {backend:8} {took:6.1f} s")
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
