"""Shrink every bundled negative control: run the scenario against the broken service at a
seed, then `restate-chaos shrink` the violated run. Prints, per control, the original and
minimal sizes (faults, requests), the share of requests left, the shrink's runs and
seconds, and how often the minimal reproduction violated again over its confirming reruns.
Nothing is asserted (tests/test_shrink.py does, behind --long).

    .venv/bin/python bench/shrink_controls.py [--seed 200] [--jobs 2] [--budget 600]
                                              [--tries 3] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.bundled import scenario_dir


def controls() -> list[tuple[str, Any]]:
    """(scenario, control) for every bundled scenario but the Kafka path (needs a broker)."""
    out = []
    for path in sorted(scenario_dir().glob("scenario_*.py")):
        name = path.stem.removeprefix("scenario_")
        if name == "event_processing_kafka":
            continue
        module = importlib.import_module(f"harness.bundled.scenarios.{path.stem}")
        out += [(name, c) for c in getattr(module, "CONTROLS", [])]
    return out


def shrink_one(scenario: str, control: Any, args: argparse.Namespace, tmp: Path) -> dict:
    out = tmp / control.name
    t0 = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "harness", "run", scenario, "--seed", str(args.seed),
         *control.options(), "--report-dir", str(out)],
        capture_output=True, text=True,
    )  # fmt: skip
    row: dict[str, Any] = {
        "control": control.name,
        "scenario": scenario,
        "run_exit": run.returncode,
    }
    run_dirs = [p for p in out.iterdir() if (p / "run.json").exists()] if out.exists() else []
    if run.returncode != 1 or not run_dirs:
        return {**row, "error": f"the control's run exited {run.returncode}, not violated"}
    shrink = subprocess.run(
        [sys.executable, "-m", "harness", "shrink", str(run_dirs[0]), "--budget",
         str(args.budget), "--tries", str(args.tries)],
        capture_output=True, text=True,
    )  # fmt: skip
    summary_path = out / f"{run_dirs[0].name}-shrink" / "shrink.json"
    if not summary_path.exists():
        return {**row, "error": f"shrink exited {shrink.returncode}: {shrink.stderr[-300:]}"}
    s = json.loads(summary_path.read_text())
    return {
        **row,
        "shrink_exit": shrink.returncode,
        "reproduced": s["reproduced"],
        "faults": (s["original"]["faults"], s["minimal"]["faults"]),
        "ops": (s["original"]["ops"], s["minimal"]["ops"]),
        "violated": s["minimal"].get("violated"),
        "rate": s["success_rate"],
        "runs": s["runs"],
        "seconds": s["seconds"],
        "budget_spent": s["budget_spent"],
        "steps": s["steps"],
        "wall": round(time.monotonic() - t0, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--budget", type=float, default=600)
    parser.add_argument("--tries", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="control names (default: all)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--out", type=Path, help="keep the runs and shrinks here (default: a temp dir)"
    )
    args = parser.parse_args()
    todo = [(s, c) for s, c in controls() if not args.only or c.name in args.only]
    head = ("control", "faults", "requests", "left", "runs", "s", "rate", "violated")
    print("{:34} {:>7} {:>11} {:>6} {:>5} {:>6} {:>5}  {}".format(*head), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as d, ThreadPoolExecutor(args.jobs) as pool:
        where = args.out or Path(d)
        for row in pool.map(lambda sc: shrink_one(*sc, args, where), todo):
            rows.append(row)
            if "error" in row:
                print(f"{row['control']:34} {row['error']}", flush=True)
                continue
            (fo, fm), (oo, om) = row["faults"], row["ops"]
            left = f"{om / oo:.1%}" if oo and om is not None else "?"
            rate = "-" if row["rate"] is None else f"{row['rate']:.0%}"
            print(
                f"{row['control']:34} {fo:>3}->{fm:<3} {oo:>5}->{om!s:<5} {left:>6} "
                f"{row['runs']:>5} {row['seconds']:>6.0f} {rate:>5}  "
                f"{','.join(row['violated'] or [])}{' (budget spent)' * row['budget_spent']}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    ok = [r for r in rows if r.get("reproduced")]
    within = [
        r for r in ok
        if r["faults"][1] <= 2 and r["ops"][1] is not None and r["ops"][1] <= r["ops"][0] / 10
        and (r["rate"] or 0) >= 0.5
    ]  # fmt: skip
    print(
        f"\n{len(ok)} of {len(rows)} controls shrunk; {len(within)} to at most 2 faults and "
        f"10% of the requests with a replay rate of at least 50%"
    )


if __name__ == "__main__":
    main()
