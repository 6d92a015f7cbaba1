"""Run the bundled scenarios against restatedev/examples' Python patterns, with adapters only.

    python examples/restatedev-examples/run.py CHECKOUT [--seeds 9201 9202] [--only NAME ...]
        [--out DIR]

CHECKOUT is a clone of https://github.com/restatedev/examples (measured at 2d429daa). Each
example's folder is copied to a scratch folder, this folder's stub wiring is laid over it
(the examples' stand-ins for a provider, now calls to the harness's world; see README.md),
and `restate-chaos run` aims the matching scenario at it with the adapter from
chaos_adapters.py. Prints one line per run: the verdicts not held, with their causes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PATTERNS = "python/patterns-use-cases"

# name: (the example's folders, scenario, service=module:app ..., adapters, extra options)
EXAMPLES: dict[str, tuple[list[str], str, list[str], list[str], list[str]]] = {
    "durablerpc": (["durablerpc"], "reservations", ["products=durablerpc.app:app"],
                   ["products=ExampleProducts"], []),
    "eventtransactions+eventenrichment": (
        ["eventtransactions", "eventenrichment"], "event_processing",
        ["feed=eventtransactions.app:app", "tracker=eventenrichment.app:app"],
        ["feed=ExampleFeed", "tracker=ExamplePackages"],
        # the feed's moderation polls every 5 s: fewer posts keep the run in minutes
        ["--param", "USERS=8", "--param", "PACKAGES=10", "--param", "EVENTS=3"]),
    "sagas": (["sagas"], "sagas", ["trips=sagas.app:app"], ["trips=ExampleTrips"],
              ["--param", "LOST_ANSWER=0"]),
    "statefulactors": (["statefulactors"], "machines", ["machines=statefulactors.app:app"],
                       ["machines=ExampleMachines"], ["--param", "REQUESTS=80"]),
    "queueing": (["queueing"], "task_queue", ["worker=queueing.app:app"],
                 ["worker=ExampleTasks"], []),
    "schedulingtasks": (["schedulingtasks"], "scheduling", ["tracker=schedulingtasks.app:app"],
                        ["tracker=ExampleTracker"], []),
    "syncasync": (["syncasync"], "sync_async", ["upload=syncasync.app:app"],
                  ["upload=ExampleUpload"], []),
    "signalspayments": (["signalspayments"], "payment_signals",
                        ["payments=signalspayments.app:app"], ["payments=ExampleSignals"], []),
    "statemachinepayments": (["statemachinepayments"], "payment_tokens",
                             ["payments=statemachinepayments.app:app"],
                             ["payments=ExampleTokens"], []),
    "parallelizework": (["parallelizework"], "fanout", ["worker=parallelizework.app:app"],
                        ["worker=ExampleFanOut"], []),
}  # fmt: skip

# TypeScript: the example's file, run by node with tsx, its fixed port 9080 moved to $PORT
# (wiring-ts/port.cjs); name: (the example's file, scenario, service, adapter, options)
TS = "typescript/patterns-use-cases"
NODE = "cmd:{} --require ./port.cjs --import tsx src/{}"
EXAMPLES_TS: dict[str, tuple[str, str, str, str, list[str]]] = {
    "ts-durablerpc": ("durablerpc/product_service.ts", "reservations", "products",
                      "ExampleProducts", []),
    "ts-sagas": ("sagas/booking_workflow.ts", "sagas", "trips", "TsTrips",
                 ["--param", "LOST_ANSWER=0"]),
    "ts-statefulactors": ("statefulactors/machine_operator.ts", "machines", "machines",
                          "TsMachines", ["--param", "REQUESTS=80"]),
    "ts-parallelizework": ("parallelizework/fan_out_worker.ts", "fanout", "worker",
                           "TsFanOut", []),
    "ts-queue": ("queue/async_task_worker.ts", "task_queue", "worker", "TsTasks", []),
    "ts-schedulingtasks": ("schedulingtasks/payment_reminders.ts", "scheduling", "tracker",
                           "ExampleTracker", []),
    "ts-signalspayments": ("signalspayments/payment_service.ts", "payment_signals",
                           "payments", "TsSignals", []),
    "ts-statemachinepayments": ("statemachinepayments/payment_service.ts", "payment_tokens",
                                "payments", "TsTokens", []),
}  # fmt: skip


# the Python tour (python/tutorials/tour-of-orchestration-python): one chapter served alone
# (wiring-tour/tour_*.py); name: (entry module, scenario, service, adapter, options)
TOUR = "python/tutorials/tour-of-orchestration-python"
EXAMPLES_TOUR: dict[str, tuple[str, str, str, str, list[str]]] = {
    "tour-getstarted": ("tour_getstarted", "subscription_retries", "subscriptions",
                        "TourSubscriptions", []),
    "tour-sagas": ("tour_sagas", "subscription_retries", "subscriptions", "TourSaga", []),
    "tour-objects": ("tour_objects", "object_state", "subscriptions", "TourList", []),
    "tour-timers": ("tour_timers", "payment_signals", "payments", "TourPayments", []),
    "tour-communication": ("tour_communication", "tickets", "tickets", "TourTickets", []),
    "tour-concurrenttasks": ("tour_concurrenttasks", "subscription_retries", "subscriptions",
                             "TourParallel", []),
    "tour-events": ("tour_events", "payment_signals", "payments", "TourEventPayments", []),
}  # fmt: skip


def prepare_tour(checkout: Path, scratch: Path) -> None:
    source = checkout / TOUR
    if not source.is_dir():
        sys.exit(f"error: {source} is missing: CHECKOUT must be a clone of restatedev/examples")
    shutil.copytree(source, scratch, dirs_exist_ok=True)
    shutil.copytree(HERE / "wiring-tour", scratch, dirs_exist_ok=True)
    shutil.copy(HERE / "chaos_adapters.py", scratch)


# the TypeScript tour (typescript/tutorials/tour-of-orchestration-typescript): src/app.ts
# serves every chapter; the adapters are the Python tour's (the same APIs)
TS_TOUR = "typescript/tutorials/tour-of-orchestration-typescript"
EXAMPLES_TS_TOUR: dict[str, tuple[str, str, str, list[str]]] = {
    "ts-tour-getstarted": ("subscription_retries", "subscriptions", "TourSubscriptions", []),
    "ts-tour-sagas": ("subscription_retries", "subscriptions", "TourSaga", []),
    "ts-tour-objects": ("object_state", "subscriptions", "TourList", []),
    "ts-tour-timers": ("payment_signals", "payments", "TourPayments", []),
}


def prepare_ts(checkout: Path, scratch: Path, project: str = TS, wiring: str = "wiring-ts") -> None:
    """A TypeScript project of the examples with the wiring laid over it (src/ files, and
    port.cjs), and its dependencies installed (npm, once for the project)."""
    source = checkout / project
    if not source.is_dir():
        sys.exit(f"error: {source} is missing: CHECKOUT must be a clone of restatedev/examples")
    shutil.copytree(
        source, scratch, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules")
    )
    if wiring == "wiring-ts":
        shutil.copytree(HERE / "wiring-ts", scratch / "src", dirs_exist_ok=True)
    else:  # the tour: its own src/ files, and the preload and world helper shared
        shutil.copytree(HERE / wiring, scratch, dirs_exist_ok=True)
        for shared in ("port.cjs", "world.ts"):
            shutil.copy(HERE / "wiring-ts" / shared, scratch / "src" / shared)
    shutil.move(scratch / "src" / "port.cjs", scratch / "port.cjs")
    shutil.copy(HERE / "chaos_adapters.py", scratch)
    # its dependencies, and tsx to run the TypeScript as it is (the tour has no tsx of its own)
    npm = ["npm", "install", "--no-audit", "--no-fund", "--silent", "tsx"]
    subprocess.run(npm, cwd=scratch, check=True)


def prepare(checkout: Path, folders: list[str], scratch: Path) -> None:
    for folder in folders:
        source = checkout / PATTERNS / folder
        if not source.is_dir():
            sys.exit(f"error: {source} is missing: CHECKOUT must be a clone of restatedev/examples")
        shutil.copytree(source, scratch / folder)
        overlay = HERE / "wiring" / folder
        if overlay.is_dir():
            shutil.copytree(overlay, scratch / folder, dirs_exist_ok=True)
    shutil.copy(HERE / "chaos_adapters.py", scratch)


def summary(report_dir: Path) -> str:
    lines = []
    for results in sorted(report_dir.glob("*/results.json")):
        r = json.loads(results.read_text())
        lines.append(f"  {r['status']}")
        for v in r["verdicts"]:
            if v["valid"] is not True:
                lines.append(f"    {v['id']}: {v['valid']} - {v['summary'][:300]}")
                if v.get("cause"):
                    lines.append(f"      likely cause: {v['cause'][:300]}")
    return "\n".join(lines) or "  no run recorded"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a clone of restatedev/examples")
    parser.add_argument("--seeds", type=int, nargs="+", default=[9201, 9202])
    names = (
        sorted(EXAMPLES) + sorted(EXAMPLES_TOUR) + sorted(EXAMPLES_TS) + sorted(EXAMPLES_TS_TOUR)
    )
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--node", default="node", help="Node.js 22 or later (the SDK needs it)")
    parser.add_argument("--out", type=Path, default=Path("reports/restatedev-examples"))
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="ts-") as ts_tmp,
        tempfile.TemporaryDirectory(prefix="ts-tour-") as tour_tmp,
    ):
        for name in args.only:
            if name in EXAMPLES_TS_TOUR:
                scenario, service, adapter, extra = EXAMPLES_TS_TOUR[name]
                scratch = Path(tour_tmp)
                if not (scratch / "node_modules").is_dir():
                    prepare_ts(args.checkout, scratch, TS_TOUR, "wiring-ts-tour")
                options = aim(service, NODE.format(args.node, "app.ts"), adapter) + extra
                run(name, scenario, options, scratch, args)
                continue
            if name in EXAMPLES_TS:
                file, scenario, service, adapter, extra = EXAMPLES_TS[name]
                scratch = Path(ts_tmp)
                if not (scratch / "node_modules").is_dir():
                    prepare_ts(args.checkout, scratch)
                options = aim(service, NODE.format(args.node, file), adapter) + extra
                run(name, scenario, options, scratch, args)
                continue
            if name in EXAMPLES_TOUR:
                module, scenario, service, adapter, extra = EXAMPLES_TOUR[name]
                with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
                    prepare_tour(args.checkout, Path(tmp))
                    options = aim(service, f"{module}:app", adapter) + extra
                    run(name, scenario, options, Path(tmp), args)
                continue
            folders, scenario, apps, adapters, extra = EXAMPLES[name]
            with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
                prepare(args.checkout, folders, Path(tmp))
                options = [x for a in apps for x in ("--app", a)]
                options += [f"--adapter={a.replace('=', '=chaos_adapters:')}" for a in adapters]
                run(name, scenario, options + extra, Path(tmp), args)


def aim(service: str, app: str, adapter: str) -> list[str]:
    """The options that aim the scenario's `service` at the example, read by `adapter`."""
    return ["--app", f"{service}={app}", "--adapter", f"{service}=chaos_adapters:{adapter}"]


def run(name: str, scenario: str, options: list[str], scratch: Path, args) -> None:
    for seed in args.seeds:
        out = args.out.resolve() / f"{name}-{seed}"
        cmd = [sys.executable, "-m", "harness", "run", scenario, "--seed", str(seed),
               "--no-html", "--report-dir", str(out), "--app-path", str(scratch)]  # fmt: skip
        code = subprocess.run(cmd + options, capture_output=True, cwd=scratch).returncode
        print(f"{name} seed {seed}: exit {code}\n{summary(out)}", flush=True)


if __name__ == "__main__":
    main()
