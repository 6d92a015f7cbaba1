"""Command line: `restate-chaos list | run | report | dashboard | provision` (also
`python -m harness ...`).

`run` is pytest on the scenario modules with the plugin's options, so a scenario runs the
same way from the CLI, from `pytest scenarios/` and in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from harness import exit_codes
from harness.bundled import scenario_dir
from harness.errors import HarnessError, StillRunning
from harness.exit_codes import EXIT_CODES, PRIORITY
from harness.options import OPTIONS, add_cli_arguments, problems, to_pytest_args


def worst(codes: list[int]) -> int:
    return min(codes, key=PRIORITY.index, default=0)


def new_runs(report_dir: Path, before: set[str]) -> list[tuple[Path, dict[str, Any]]]:
    """The runs created under report_dir since `before` was listed, with their results
    (status "crashed" when a run left none)."""
    out = []
    for manifest in sorted(report_dir.glob("*/run.json")):
        if manifest.parent.name not in before:
            results = manifest.parent / "results.json"
            res = json.loads(results.read_text()) if results.exists() else {"status": "crashed"}
            out.append((manifest.parent, res))
    return out


DESCRIPTION = f"""\
Chaos and fault-injection harness for Restate applications.

commands:
  list                    the scenarios, with what each one checks
  run SCENARIO|all|PATH   run bundled scenarios by name, or your scenario files and folders
                          (pytest underneath); reports go to reports/<run-id>/
  report RUN_DIR...        re-run the stored runs' checks and rewrite their reports
  dashboard [REPORT_DIR]   rebuild REPORT_DIR/index.html (default reports/) from its runs
  merge PART...            join the report folders of a sweep's parts (run --shard I/N) into
                          one, with one dashboard and JUnit file; names a missing part
  provision [--node DIR]  install the pinned restate-server from npm into the cache (and
                          the npm dependencies of a Node.js service in DIR)

exit codes (run, report, merge):
{exit_codes.help_text()}


examples:
  restate-chaos run all
  restate-chaos run smoke --seed 42
  restate-chaos run smoke --sweep 5
  restate-chaos run smoke --app counter=mypkg.counter:app
  restate-chaos run chaos/scenario_orders.py --seed 7
"""


def scenarios() -> dict[str, Path]:
    """The bundled scenarios by name."""
    found = sorted(scenario_dir().glob("scenario_*.py"))
    return {p.stem.removeprefix("scenario_"): p for p in found}


def default_jobs(paths: list[Path], sweep: int) -> int:
    """Two runs at a time when there are several and two cores: a run mostly waits
    (downtimes, timers, retries), and on 2 cores `run all` takes 94 s instead of 172 s with
    the same faults landing in flight and in their windows (bench/suite.py)."""
    several = len(paths) * sweep > 1 or any(p.is_dir() for p in paths)
    return 2 if several and (os.cpu_count() or 1) >= 2 else 1


def resolve_targets(targets: list[str]) -> list[Path]:
    """Scenario names (bundled), `all`, or paths of scenario files and folders."""
    known = scenarios()
    paths: list[Path] = []
    for target in targets:
        if target == "all":
            paths += known.values()
        elif target in known:
            paths.append(known[target])
        elif Path(target).exists():
            paths.append(Path(target).resolve())
        else:
            raise HarnessError(
                f"unknown scenario {target!r}: neither a bundled scenario ("
                f"{', '.join(known) or 'none'}; or `all`) nor an existing file or folder"
            )
    return paths


class _Collection:
    """Counts collection errors: a scenario file that does not import is bad input."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.errors.append(report.nodeid or "?")


def class_assumptions(node: Any) -> dict[str, tuple[Any, str]]:
    """A contract class's ASSUMPTIONS (harness/contracts.py) with their values, from its
    source: name -> (value, meaning)."""
    import ast

    values: dict[str, Any] = {}
    meanings: dict[str, str] = {}
    for stmt in node.body:
        if not isinstance(stmt, ast.Assign) or not isinstance(stmt.targets[0], ast.Name):
            continue
        with contextlib.suppress(ValueError):
            value = ast.literal_eval(stmt.value)
            if stmt.targets[0].id == "ASSUMPTIONS":
                meanings = value
            else:
                values[stmt.targets[0].id] = value
    return {n: (values.get(n), m) for n, m in meanings.items()}


def declared_params(tree: Any, folder: Path) -> tuple[dict[str, Any], list[str]]:
    """A scenario's `Params` fields from its source: name -> default (where it is a
    literal, `scaled(N)` or `field(default_factory=lambda: LITERAL)`), and the scaled ones.
    A `Params` that another scenario module of the folder declares (`class Params(other.Params)`
    or `Params = other.Params`) contributes that module's fields first."""
    import ast

    aliases = {
        a.asname or a.name: a.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for a in node.names
    }

    def inherited(expr: Any) -> tuple[dict[str, Any], list[str]]:
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            other = folder / f"{aliases.get(expr.value.id, expr.value.id)}.py"
            if other.is_file():
                return declared_params(ast.parse(other.read_text()), folder)
        return {}, []

    params: dict[str, Any] = {}
    scaled: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "Params":
            return inherited(node.value)
        if not isinstance(node, ast.ClassDef) or node.name != "Params":
            continue
        for base in node.bases:
            more, more_scaled = inherited(base)
            params.update(more)
            scaled += more_scaled
        for stmt in node.body:
            if not isinstance(stmt, ast.AnnAssign) or not isinstance(stmt.target, ast.Name):
                continue
            value, name = stmt.value, stmt.target.id
            if isinstance(value, ast.Call) and ast.unparse(value.func).endswith("scaled"):
                scaled.append(name)
                value = value.args[0]
            elif isinstance(value, ast.Call) and ast.unparse(value.func).endswith("field"):
                factory = next(
                    (k.value for k in value.keywords if k.arg == "default_factory"), None
                )
                value = factory.body if isinstance(factory, ast.Lambda) else None
            with contextlib.suppress(ValueError, TypeError, SyntaxError):
                params[name] = ast.literal_eval(value) if value is not None else None
    return params, scaled


def describe(path: Path) -> dict[str, Any]:
    """A scenario file's summary line, SERVICES, CONTRACTS, CONTROLS and `Params`, read
    without importing it (listing stays fast: no run or report layer loaded)."""
    import ast

    tree = ast.parse(path.read_text())
    doc = (ast.get_docstring(tree) or "").strip()
    out: dict[str, Any] = {"doc": doc.splitlines()[0] if doc else "", "services": {}}
    out["controls"] = []
    out["params"], out["scaled"] = declared_params(tree, path.parent)
    out["assumptions"] = {}  # contract class -> {name: (bundled value, meaning)}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            out["assumptions"][node.name] = class_assumptions(node)
            continue
        if not isinstance(node, ast.Assign) or not isinstance(node.targets[0], ast.Name):
            continue
        name = node.targets[0].id
        if name == "CONTRACTS" and isinstance(node.value, ast.Dict):
            out["contracts"] = {
                ast.literal_eval(k): ast.unparse(v)
                for k, v in zip(node.value.keys, node.value.values, strict=True)
                if k is not None
            }
        if node.targets[0].id == "SERVICES":
            with contextlib.suppress(ValueError):
                out["services"] = ast.literal_eval(node.value)
        elif node.targets[0].id == "CONTROLS" and isinstance(node.value, ast.List):
            for call in node.value.elts:
                if isinstance(call, ast.Call) and len(call.args) >= 2:
                    try:
                        service, app = (ast.literal_eval(a) for a in call.args[:2])
                        params = [
                            ast.literal_eval(k.value) for k in call.keywords if k.arg == "params"
                        ]
                    except ValueError:
                        continue
                    given = "".join(f" --param {k}={v}" for k, v in (params or [()])[0])
                    out["controls"].append(f"{service}={app}{given}")
    out["faults"] = fault_kinds(tree)
    return out


def fault_kinds(tree: Any) -> list[str]:
    """The fault kinds a scenario's code names, read from its syntax: kill() / stop() /
    pause(), seeded_kills and effect_window (kill unless kind= says otherwise), and a kind
    given as Fault's first argument, a `kind=` keyword or the first item of a seeded_plan
    tuple."""
    import ast

    from harness.nemesis.faults import KINDS

    def kind(node: Any) -> str | None:
        ok = isinstance(node, ast.Constant) and node.value in KINDS
        return node.value if ok else None

    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and node.elts and kind(node.elts[0]):
            found.add(node.elts[0].value)  # type: ignore[attr-defined]
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        given = [kind(k.value) for k in node.keywords if k.arg == "kind"]
        if name in ("kill", "stop", "pause"):
            found.add(name)
        elif name in ("seeded_kills", "effect_window", "effect_window_plan"):
            found.add(given[0] if given and given[0] else "kill")
        elif name == "Fault" and node.args and kind(node.args[0]):
            found.add(node.args[0].value)  # type: ignore[attr-defined]
        elif given and given[0]:
            found.add(given[0])
    return [k for k in KINDS if k in found]


def build_parser() -> argparse.ArgumentParser:
    """The command line of every subcommand (`run`'s options: harness/options.py)."""
    parser = argparse.ArgumentParser(
        prog="restate-chaos",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("list", help="list the scenarios")
    run = sub.add_parser("run", help="run scenarios: bundled ones by name, or files and folders")
    run.add_argument(
        "scenario", nargs="*", help="a name from `list`, `all`, or a scenario file or folder"
    )
    add_cli_arguments(run)  # harness/options.py: declared once for the CLI and the plugin
    rep = sub.add_parser("report", help="re-analyse stored runs")
    rep.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
    shr = sub.add_parser(
        "shrink",
        help="shrink a violated run to the fewest faults and requests that still violate",
    )
    shr.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    shr.add_argument(
        "--tries",
        type=int,
        metavar="K",
        help="runs per candidate; it fails if one of them violates (default 3: see "
        "docs/how-to/reproduce.md)",
    )
    shr.add_argument(
        "--confirm",
        type=int,
        default=5,
        metavar="N",
        help="reruns of the minimal reproduction for its success rate (default 5)",
    )
    shr.add_argument(
        "--budget",
        type=float,
        default=900,
        metavar="SECONDS",
        help="stop the search after this long, with the smallest reproduction so far (default 900)",
    )
    shr.add_argument(
        "--max-runs", type=int, default=120, metavar="N", help="and after N runs (default 120)"
    )
    shr.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where the steps and the result go (default: RUN_DIR-shrink next to RUN_DIR)",
    )
    mer = sub.add_parser(
        "merge", help="join the report folders of a sweep's parts (run --shard I/N) into one"
    )
    mer.add_argument(
        "parts", nargs="+", type=Path, metavar="PART",
        help="a part's report folder, or a folder holding one in reports/ (the nightly's)",
    )  # fmt: skip
    mer.add_argument(
        "--report-dir", type=Path, default=Path("reports"), metavar="DIR",
        help="the merged report folder (default: reports/)",
    )  # fmt: skip
    mer.add_argument(
        "--junitxml", type=Path, metavar="FILE", help="also join the parts' JUnit files here"
    )
    dash = sub.add_parser("dashboard", help="rebuild the dashboard of a report folder")
    dash.add_argument("report_dir", nargs="?", type=Path, default=Path("reports"))
    prov = sub.add_parser(
        "provision", help="install restate-server from npm now (and a Node.js service's deps)"
    )
    prov.add_argument(
        "--node",
        type=Path,
        metavar="DIR",
        help="also install the npm dependencies of the Node.js project DIR into the cache "
        "and link them as DIR/node_modules",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # an unknown option is an error (2), not passed on
    if args.command == "run" and args.replay is not None:
        return replay_command(args, argv if argv is not None else sys.argv[1:])
    commands = {"list": list_command, "run": run_command, "report": report_command,
                "shrink": shrink_command, "dashboard": dashboard_command,
                "merge": merge_command, "provision": provision_command}  # fmt: skip
    if args.command not in commands:
        parser.print_help()
        return 2
    return commands[args.command](args)


def list_command(args: argparse.Namespace) -> int:
    """`list`: the bundled scenarios, each with what a user may set."""
    for name, path in scenarios().items():
        info = describe(path)
        print(f"{name:24} {info['doc']}")
        services = ", ".join(info["services"]) or "(not declared)"
        print(f"{'':24}   services (--app NAME=...): {services}")
        for service, contract in info.get("contracts", {}).items():
            print(
                f"{'':24}   adapter (--adapter {service}=module:Class): a subclass "
                f"of harness.bundled.scenarios.{path.stem}.{contract}"
            )
            for n, (value, meaning) in info["assumptions"].get(contract, {}).items():
                print(
                    f"{'':24}     assumes {n}={value!r} (an adapter attribute, or "
                    f"--param {n}=...): {meaning}"
                )
        params = " ".join(f"{k}={v!r}" for k, v in info["params"].items())
        print(f"{'':24}   parameters (--param NAME=VALUE): {params or 'none'}")
        print(f"{'':24}   fault kinds: {', '.join(info['faults']) or 'none named'}")
        scaled = ", ".join(info.get("scaled", [])) or "none (its fault plan only)"
        print(f"{'':24}   multiplied by --scale N: {scaled}")
        for control in info["controls"]:
            print(f"{'':24}   negative control: --app {control}")
    return 0


def run_command(args: argparse.Namespace) -> int:
    """`run`: the scenarios through pytest with the plugin; the worst run's exit code."""
    if not args.scenario:
        print("error: run needs a scenario (a name from `list`, `all`, a file or a "
              "folder) or --replay RUN_DIR", file=sys.stderr)  # fmt: skip
        return 2
    try:
        paths = resolve_targets(args.scenario)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    values = {o.name: getattr(args, o.dest) for o in OPTIONS}
    for what in problems(values):
        print(f"error: {what}", file=sys.stderr)
        return 2
    import pytest

    pytest_args = [
        *map(str, paths),
        "-p",
        "no:cacheprovider",
        # this process imported harness before pytest could rewrite it: fine
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *_config_args(paths),
    ]
    pytest_args += to_pytest_args(args)
    jobs = args.jobs or default_jobs(paths, args.sweep)
    if jobs > 1:
        pytest_args += ["-n", str(jobs)]
    report_dir = Path(args.report_dir)
    from harness.manifest import report_dir_problem

    problem = report_dir_problem(report_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    before = {p.name for p in report_dir.glob("*")} if report_dir.is_dir() else set()
    collection = _Collection()
    code = int(pytest.main(pytest_args, plugins=[collection]))
    runs = new_runs(report_dir, before) if report_dir.is_dir() else []
    statuses = [res["status"] for _, res in runs]
    if code == pytest.ExitCode.USAGE_ERROR:
        return 2
    if collection.errors and not statuses:
        print(
            f"error: could not load {', '.join(collection.errors)} (the error is above)",
            file=sys.stderr,
        )
        return 2
    if not statuses:  # nothing ran: collection error, internal error, interrupt
        return 0 if code == 0 else 3
    dashboard = report_dir / "index.html"
    print(
        f"\n{len(statuses)} run(s): "
        + ", ".join(f"{n} {s}" for s, n in sorted(Counter(statuses).items()))
        + ("" if args.no_html else f"; dashboard: {dashboard}")
    )
    if args.shrink:
        shrink_failures(runs, args.shrink_budget)
    return worst([EXIT_CODES.get(s, 3) for s in statuses])


def replay_command(args: argparse.Namespace, argv: list[str]) -> int:
    """`run --replay RUN_DIR`: the stored run again, each fault where it fired."""
    try:
        replayed = replay_argv(args.replay, argv)
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("replay: restate-chaos " + shlex.join(replayed), flush=True)
    return main(replayed)


def report_command(args: argparse.Namespace) -> int:
    """`report`: re-analyse stored runs and render their reports and dashboard."""
    from harness.report.analyze import reanalyze
    from harness.report.dashboard import render_dashboard

    codes: list[int] = []
    try:
        for run_dir in args.run_dirs:
            try:
                res = reanalyze(run_dir)
            except StillRunning as e:
                print(f"error: {e}", file=sys.stderr)
                codes.append(3)
                continue
            except HarnessError as e:
                print(f"error: {e}", file=sys.stderr)
                return 2
            print(f"{res.get('status', '?'):11} {run_dir / 'index.html'}")
            codes.append(EXIT_CODES.get(res.get("status", "unknown"), 3))
        for root in {d.resolve().parent for d in args.run_dirs}:
            print(f"dashboard   {render_dashboard(root)}")
    except OSError as e:
        return could_not_write(e)
    return worst(codes)


def dashboard_command(args: argparse.Namespace) -> int:
    """`dashboard`: rebuild a report folder's dashboard."""
    from harness.report.dashboard import render_dashboard

    if not args.report_dir.is_dir():
        print(f"error: {args.report_dir} is not a folder", file=sys.stderr)
        return 2
    try:
        print(render_dashboard(args.report_dir))
    except OSError as e:
        return could_not_write(e)
    return 0


def merge_command(args: argparse.Namespace) -> int:
    """`merge`: the parts of a sharded sweep as one report folder. The worst run's exit
    code; 3 (could not run) when a part is missing or belongs to another sweep."""
    from harness.report.dashboard import render_dashboard
    from harness.shard import merge

    try:
        merged = merge(args.parts, args.report_dir, args.junitxml)
        print(f"dashboard   {render_dashboard(args.report_dir)}")
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        return could_not_write(e)
    runs = new_runs(args.report_dir, set())
    codes = [EXIT_CODES.get(res.get("status", "crashed"), 3) for _, res in runs]
    print(
        f"{len(runs)} run(s) from {merged.shards} part(s)"
        + (f" of {merged.of}" if merged.of else "")
        + f"; {sum(c == 0 for c in codes)} passed"
    )
    for problem in merged.missing:
        print(f"error: {problem}", file=sys.stderr)
    return worst([*codes, *([3] if merged.missing else [])])


def provision_command(args: argparse.Namespace) -> int:
    """`provision`: install restate-server (and a Node.js project's dependencies) now."""
    from harness.runtime import binary

    try:
        print(binary.resolve())
        if args.node is not None:
            from harness.runtime.node import provision_node_project

            print(provision_node_project(args.node.resolve()))
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def replay_argv(run_dir: Path, argv: list[str]) -> list[str]:
    """`run` arguments that rerun the stored run `run_dir` with its faults where they fired:
    its reproduce command (scenario, seed, options) with --plan RUN_DIR/replay-plan.json,
    plus this command's own options (--report-dir, --backend, ...) except --replay."""
    from harness.errors import BadInput
    from harness.manifest import rerun_command, without_options, write_json
    from harness.nemesis.faults import replay_plan

    try:
        manifest = json.loads((run_dir / "run.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise BadInput(f"--replay {run_dir}: not a run folder ({e})") from None
    tokens, prefix = rerun_command(manifest, drop=("plan",))  # the replay's plan replaces it
    if prefix != "--":
        raise BadInput(
            f"--replay {run_dir}: only a bundled scenario's run replays this way; for your "
            f"own scenario run its reproduce command with --chaos-plan: "
            f"{manifest.get('reproduce')}"
        )
    recorded = tokens[2:]
    plan = replay_plan(run_dir)
    plan_path = run_dir / "replay-plan.json"
    write_json(plan_path, {"replay_of": str(run_dir), "plan": [f.__dict__ for f in plan]})
    own = without_options(argv[1:], ["--replay"])  # after "run"
    return ["run", *recorded, "--plan", str(plan_path), *own]


def shrink_failures(runs: list[tuple[Path, dict[str, Any]]], budget: float) -> None:
    """`run --shrink`: shrink each violated run (not one whose violations are all known
    upstream bugs), sharing `budget` seconds; the run's own exit code stands."""
    import time

    failed = [
        d for d, res in runs
        if res["status"] == "failed"
        and not all(v.get("known") for v in res["verdicts"] if v["valid"] is False)
    ]  # fmt: skip
    deadline = time.monotonic() + budget
    for i, run_dir in enumerate(failed):
        share = (deadline - time.monotonic()) / (len(failed) - i)
        if share < 30:
            print(f"shrink: no budget left for {run_dir.name}", flush=True)
            continue
        print(f"\nshrink {run_dir.name} (at most {share:.0f} s)", flush=True)
        shrink_command(
            argparse.Namespace(
                run_dir=run_dir, tries=None, confirm=5, budget=share, max_runs=120, out=None
            )
        )


def shrink_command(args: argparse.Namespace) -> int:
    """`shrink RUN_DIR`: 0 with a minimal reproduction written, 1 when the violation did
    not come back in --tries reruns (nothing to shrink), 2 bad input, 3 interrupted."""
    from harness.shrink import TRIES, Budget, Shrinker

    args.tries = TRIES if args.tries is None else args.tries
    for bad, what in (
        (args.tries < 1, f"--tries must be >= 1, got {args.tries}"),
        (args.confirm < 0, f"--confirm must be >= 0, got {args.confirm}"),
        (args.budget <= 0, f"--budget must be > 0 seconds, got {args.budget}"),
        (args.max_runs < 1, f"--max-runs must be >= 1, got {args.max_runs}"),
    ):
        if bad:
            print(f"error: {what}", file=sys.stderr)
            return 2
    run_dir = args.run_dir.resolve()
    out = (args.out or run_dir.with_name(run_dir.name + "-shrink")).resolve()
    try:
        shrinker = Shrinker(
            run_dir,
            out,
            tries=args.tries,
            confirm=args.confirm,
            budget=Budget(args.budget, args.max_runs),
            say=lambda line: print(line, flush=True),
        )
        summary = shrinker.shrink()
    except HarnessError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        return could_not_write(e)
    if not summary["reproduced"]:
        print(
            f"the violation ({', '.join(summary['violated'])}) did not come back in "
            f"{args.tries} rerun(s) of the run's faults as they fired; nothing to shrink "
            f"(steps in {out})"
        )
        return 1
    from harness.report.render import render

    m, o, rate = summary["minimal"], summary["original"], summary["success_rate"]
    print(
        f"minimal reproduction: {m['faults']} fault(s) (of {o['faults']}), {m['ops']} "
        f"request(s) (of {o['ops']})"
        + (f" on {len(m['keys'])} key(s)" if m["keys"] is not None else "")
        + "; "
        + (
            f"violated in {rate:.0%} of {summary['confirm_runs']} reruns; "
            if rate is not None
            else ""
        )
        + f"{summary['runs']} runs in {summary['seconds']:.0f} s"
        + (" (budget spent)" if summary["budget_spent"] else "")
    )
    print("\n".join(summary["story"]))
    print(f"replay: {summary['command']}")
    print(f"report: {render(run_dir)} (with the minimal reproduction)")
    print(f"details: {out / 'shrink.json'}")
    return 0


def could_not_write(e: OSError) -> int:
    """A full disk or a read-only folder while writing a report: could not run (3)."""
    print(
        f"error: could not write the report: {e.strerror or e} ({e.filename or 'a file'}); "
        "free space or give a writable --report-dir; the reports already there are whole "
        "(each file is written aside and renamed)",
        file=sys.stderr,
    )
    return 3


def _config_args(paths: list[Path]) -> list[str]:
    """Bundled scenarios run with the harness's own pytest.ini (an installed harness needs
    no project file); a project's scenarios run with the project's configuration."""
    bundled = scenario_dir()
    if all(p.parent == bundled for p in paths):
        ini = Path(__file__).resolve().parent / "bundled" / "pytest.ini"
        return [f"--rootdir={bundled}", "-c", str(ini)]
    return []


def entry(argv: list[str] | None = None) -> int:
    """The `restate-chaos` console script (and `python -m harness`): SIGINT, SIGTERM and
    SIGHUP at any moment end it with exit 3 and "interrupted", never a traceback."""
    import atexit

    from harness.runtime.processes import install_signal_handlers, interrupted, say_interrupted

    install_signal_handlers()
    try:
        code = main(argv)
    except KeyboardInterrupt:
        code = 3
    if interrupted():
        # leave with our code: after an interrupt inside exec'd code (a dataclass being
        # built), CPython would otherwise end the process by SIGINT (exit -2). Say so on
        # the terminal's own stderr: an interrupt while pytest started could leave its
        # message in pytest's capture (CI: exit 3 with no output at all)
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        say_interrupted()
        os._exit(code)
    return code
