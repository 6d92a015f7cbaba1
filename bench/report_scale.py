"""Report scaling: render a run's report at 100k operations and time it.

Takes a real run directory (or makes one with the smoke scenario), builds a copy whose
history repeats the real one, shifted in time, until it holds N operations, then renders
both. Prints sizes and times, the large one as a ratio to the original (measured in this
same process). With Playwright and chromium present, also the browser load time.

    .venv/bin/python bench/report_scale.py [RUN_DIR] [--ops 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.report.render import render

REPO = Path(__file__).resolve().parent.parent


def make_run(tmp: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            "smoke",
            "--seed",
            "1",
            "--report-dir",
            str(tmp / "src"),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return next(p for p in (tmp / "src").iterdir() if p.is_dir())


def scale(src: Path, dst: Path, ops: int) -> int:
    shutil.copytree(src, dst)
    records = [json.loads(line) for line in (src / "history.jsonl").open()]
    per_copy = sum(1 for r in records if r["type"] == "invoke")
    span = max(r["t"] for r in records) + 0.1
    copies = max(1, ops // per_copy)
    with open(dst / "history.jsonl", "w") as f:
        for c in range(copies):
            for r in records:
                out = {**r, "t": r["t"] + c * span}
                if "op" in r and r["type"] != "fault-start":
                    out["op"] = r["op"] + c * 1_000_000
                if "fault" in r:
                    out["fault"] = r["fault"] + c * 1000
                f.write(json.dumps(out) + "\n")
    return copies * per_copy


def timed_render(run_dir: Path) -> tuple[float, int]:
    t0 = time.perf_counter()
    out = render(run_dir)
    return time.perf_counter() - t0, out.stat().st_size


def browser_load(path: Path) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = b.new_page()
        t0 = time.perf_counter()
        page.goto(path.as_uri(), wait_until="load")
        took = time.perf_counter() - t0
        b.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", nargs="?", type=Path)
    parser.add_argument("--ops", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        src = args.run_dir or make_run(tmp)
        base = tmp / "base"
        shutil.copytree(src, base)
        big = tmp / "big"
        n = scale(src, big, args.ops)
        small_t, small_size = timed_render(base)
        big_t, big_size = timed_render(big)
        history_mb = (big / "history.jsonl").stat().st_size / 1e6
        print(
            f"original run: {sum(1 for _ in (base / 'history.jsonl').open())} history lines,"
            f" report {small_size / 1e3:.0f} kB rendered in {small_t:.2f} s"
        )
        print(
            f"scaled run:   {n:,} operations ({history_mb:.0f} MB history), report "
            f"{big_size / 1e3:.0f} kB rendered in {big_t:.2f} s "
            f"({big_t / small_t:.1f}x the original's time)"
        )
        for name, d in (("original", base), ("scaled", big)):
            took = browser_load(d / "index.html")
            if took is not None:
                print(f"browser load, {name}: {took:.2f} s")


if __name__ == "__main__":
    main()
