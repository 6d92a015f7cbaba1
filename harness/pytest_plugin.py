"""pytest plugin: options, the `chaos` fixture, seed sweeps, and the session leak check.

Loaded through the `pytest11` entry point when the package is installed. It works whatever
the project's `asyncio_mode`: a coroutine test that takes the `chaos` fixture (or carries
the `chaos` marker) is marked for pytest-asyncio here, and files named `scenario_*.py` are
collected next to the project's own `python_files`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import inspect
import json
import os
import random
import re
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio

from harness.contracts import contract_assumptions
from harness.errors import BadInput, HarnessError
from harness.manifest import report_dir_problem, settle_dead_runs
from harness.options import OPTIONS, add_pytest_options, problems, rerun_config
from harness.params import mismatch, params_class

if TYPE_CHECKING:  # the run machinery is imported where a session uses it, not by loading
    from harness.run import Run  # the plugin: every pytest run where the wheel is installed


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser.getgroup("restate-chaos"), parser)  # harness/options.py


def parse_pairs(option: str, values: list[str], versions: bool = False) -> dict[str, str]:
    """NAME=VALUE pairs (NAME optionally SCENARIO.NAME) of a repeatable option; with
    `versions`, NAME may name a later version of a service, NAME@N (N >= 2)."""
    out = {}
    name_re = r"(\w+\.)?\w+" + (r"(@([2-9]|\d\d+))?" if versions else "")
    for v in values:
        name, sep, value = v.partition("=")
        if not sep or not value or not re.fullmatch(name_re, name):
            raise pytest.UsageError(f"{option} {v!r}: expected NAME=VALUE")
        out[name] = value
    return out


def service_of(name: str) -> str:
    """The service an --app names: "payments" of "payments@2" (its version 2)."""
    return name.partition("@")[0]


def parse_apps(values: list[str]) -> dict[str, str]:
    """NAME=SPEC pairs; SPEC is module:app, cmd:COMMAND or url:URL (harness.runtime.service).
    NAME may be scoped to one scenario, SCENARIO.NAME, where several have a service NAME."""
    if not values:
        return {}
    from harness.runtime.service import check_spec

    example = (
        "e.g. counter=myapp.svc:app, payments=cmd:node dist/payments.js or "
        "payments=url:http://127.0.0.1:9080"
    )
    for v in values:
        if "=" not in v:
            raise pytest.UsageError(f"--chaos-app {v!r}: expected NAME=SPEC, {example}")
    apps = parse_pairs("--chaos-app", values, versions=True)
    for name, app in apps.items():
        try:
            check_spec(app)
        except HarnessError as e:
            raise pytest.UsageError(f"--chaos-app {name}={app}: {e}") from None
    return apps


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "chaos: a chaos scenario (run by the restate-chaos plugin in its own loop)"
    )
    config.addinivalue_line(
        "markers",
        "kafka: needs a Kafka broker (the `kafka` extra); skipped with the reason where none runs",
    )
    given = {o.name: config.getoption(o.pytest_flag) for o in OPTIONS if o.pytest_flag}
    wrong = problems(given, "pytest")
    if wrong:
        raise pytest.UsageError("; ".join(wrong))
    admin, ingress = (config.getoption(f"--chaos-server-{p}") for p in ("admin", "ingress"))
    if (admin is None) != (ingress is None):
        raise pytest.UsageError(
            "--chaos-server-admin and --chaos-server-ingress go together: give the admin URL "
            "and the ingress URL of the server (e.g. http://127.0.0.1:9070 and :8080)"
        )
    cores = load_of(config)
    plan = config.getoption("--chaos-plan")
    if plan is not None:
        from harness.nemesis.faults import load_plan

        try:
            load_plan(Path(plan))
        except BadInput as e:
            raise pytest.UsageError(str(e)) from None
    subset = config.getoption("--chaos-subset")
    if subset is not None:
        from harness.workload.subset import Subset

        try:
            Subset.load(Path(subset))
        except BadInput as e:
            raise pytest.UsageError(str(e)) from None
    apps = parse_apps(config.getoption("--chaos-app"))
    docker_apps = [f"{n}={v}" for n, v in apps.items() if v.startswith("docker:")]
    if docker_apps and config.getoption("--chaos-backend") != "docker":
        raise pytest.UsageError(
            f"--chaos-app {docker_apps[0]}: a docker: image runs with --chaos-backend docker"
        )
    seed = config.getoption("--chaos-seed")
    if seed is None:  # a pytest-xdist worker takes the seed its controller drew
        seed = getattr(config, "workerinput", {}).get("chaos_seed")
    config.stash[_SEED] = seed if seed is not None else random.SystemRandom().randrange(10**6)
    config.stash[_RUNS] = []
    report_dir = Path(config.getoption("--chaos-report-dir"))
    if report_dir.exists() and not report_dir.is_dir():
        raise pytest.UsageError(report_dir_problem(report_dir))
    if cores and not hasattr(config, "workerinput"):  # pytest-xdist: its controller, once
        from harness.load import Load

        take_signals()  # the busy cores are processes of the harness's: stopped on a signal
        config.stash[_LOAD] = load = Load(cores)
        load.start()


def take_signals() -> None:
    """Signals take a run down cleanly from now on (harness/runtime/processes.py)."""
    from harness.runtime.processes import install_signal_handlers, started

    if threading.current_thread() is threading.main_thread():
        install_signal_handlers()
        started()


_PREPARED = pytest.StashKey[bool]()


def prepare_session(config: pytest.Config) -> None:
    """What a session that runs scenarios needs, once, at its first `chaos` fixture (a
    pytest run of an unrelated project with the plugin installed never gets here): signal
    handlers that take a run down cleanly, the sweep of processes a dead harness left, and
    the runs in the report directory whose harness died marked interrupted. Each
    pytest-xdist worker prepares itself: the sweep and the settling act only on what dead
    harnesses left, never on a live sibling's."""
    if config.stash.get(_PREPARED, False):
        return
    config.stash[_PREPARED] = True
    from harness.runtime.reaper import sweep_leftovers

    take_signals()
    cleaned = sweep_leftovers()
    if cleaned:
        _say(
            config,
            f"killed {len(cleaned)} processes left by an earlier run whose harness died: "
            f"{'; '.join(cleaned[:10])}",
        )
    report_dir = Path(config.getoption("--chaos-report-dir"))
    dead = settle_dead_runs(report_dir) if report_dir.is_dir() else []
    if dead:
        from harness.report.render import render
    for name in dead:
        with contextlib.suppress(Exception):  # render what was recorded, if it renders
            render(report_dir / name)
    if dead:
        _say(
            config,
            f"{len(dead)} runs in {report_dir} whose harness died are marked interrupted: "
            f"{', '.join(dead[:10])}",
        )


def render_report(run_dir: Path, report_dir: Path) -> None:
    """A finished run's report and the dashboard of its report folder, from what the run
    folder holds; a second Ctrl-C does not leave them half-written."""
    from harness.report.dashboard import render_dashboard
    from harness.report.render import render
    from harness.runtime.processes import shielded

    with shielded():
        render(run_dir)
        render_dashboard(report_dir)


def _say(config: pytest.Config, text: str) -> None:
    """A notice on the terminal while a fixture's output is captured; from a pytest-xdist
    worker (no terminal of its own), a warning the controller shows."""
    if hasattr(config, "workerinput"):
        warnings.warn(f"restate-chaos: {text}", stacklevel=2)
        return
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        sys.stderr.write(f"restate-chaos: {text}\n")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: every worker runs with the controller's seed, so all of them collect
    the same seeded tests and the run is reproducible with that one seed."""
    node.workerinput["chaos_seed"] = node.config.stash[_SEED]


_SEED = pytest.StashKey[int]()
_LOAD = pytest.StashKey[Any]()  # harness.load.Load


def load_of(config: pytest.Config) -> int:
    """--chaos-load, else the ini's chaos_load: the cores kept busy. A usage error names
    what is wrong."""
    given = config.getoption("--chaos-load")
    raw = given if given is not None else config.getini("chaos_load")
    try:
        cores = int(raw)
        if cores:
            from harness.load import Load

            Load(cores)  # checks the range
    except ValueError as e:
        raise pytest.UsageError(f"--chaos-load / chaos_load {raw!r}: {e}") from None
    return cores


_RUNS = pytest.StashKey[list["Run"]]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"restate-chaos: seed {config.stash[_SEED]}, sweep {config.getoption('--chaos-sweep')}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    """Collect `scenario_*.py` files also where `python_files` does not name them."""
    if not fnmatch.fnmatch(file_path.name, "scenario_*.py"):
        return None
    if parent.session.isinitpath(file_path) or any(
        fnmatch.fnmatch(file_path.name, p) for p in parent.config.getini("python_files")
    ):
        return None  # the python plugin collects it already (a file named on the command line)
    return pytest.Module.from_parent(parent, path=file_path)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> None:
    """Mark a scenario for pytest-asyncio before it makes the item, so that strict mode
    (the default, and what most projects have) runs it: one loop per scenario."""
    if not (inspect.iscoroutinefunction(obj) and collector.funcnamefilter(name)):
        return
    marks = getattr(obj, "pytestmark", [])
    is_scenario = "chaos" in inspect.signature(obj).parameters or any(
        m.name == "chaos" for m in marks
    )
    if is_scenario and not any(m.name == "asyncio" for m in marks):
        pytest.mark.asyncio(obj)


def apps_for(scenario: str, services: dict[str, str], apps: dict[str, str]) -> dict[str, str]:
    """The overrides that apply to one scenario: SCENARIO.NAME ones, and plain NAME ones
    for the services it has (a plain name may be meant for another scenario of the run)."""
    out = {
        n: a
        for n, a in apps.items()
        if "." not in n and (service_of(n) in services or not services)
    }
    out.update({n.split(".", 1)[1]: a for n, a in apps.items() if n.startswith(f"{scenario}.")})
    return out


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    check_overrides(config, items)
    take_shard(config, items)


def check_overrides(config: pytest.Config, items: list[pytest.Item]) -> None:
    """An --chaos-app (--chaos-adapter, --chaos-param) that names a service (contract,
    parameter) no collected scenario has is bad input, not a silent run of the bundled
    default: say which names there are."""
    overrides = {
        "--chaos-app": ("SERVICES", "service", parse_apps(config.getoption("--chaos-app"))),
        "--chaos-adapter": (
            "CONTRACTS",
            "contract",
            parse_pairs("--chaos-adapter", config.getoption("--chaos-adapter")),
        ),
        "--chaos-param": ("params", "parameter", parse_params(config.getoption("--chaos-param"))),
    }
    scenarios = {
        _scenario_name(item): item.module
        for item in items
        if getattr(item, "module", None) is not None
        and "chaos" in getattr(item, "fixturenames", ())
    }
    for option, (attr, what, given) in overrides.items():
        declared = {
            sc: params_class(m).defaults() | contract_assumptions(getattr(m, "CONTRACTS", {}))
            if attr == "params"
            else dict(getattr(m, attr, {}))
            for sc, m in scenarios.items()
        }
        if not given or not declared or (attr == "SERVICES" and not all(declared.values())):
            continue  # no SERVICES: harness/plan.py check_overrides checks at run time
        for name in given:
            # (scenario, name) pairs this override is meant for
            short = service_of(name) if attr == "SERVICES" else name
            targets = [
                (sc, short.rpartition(".")[2])
                for sc, names in declared.items()
                if short.rpartition(".")[2] in names and short.rpartition(".")[0] in ("", sc)
            ]
            if not targets:
                listing = "; ".join(
                    f"{sc}: {', '.join(d) or 'none'}" for sc, d in sorted(declared.items())
                )
                raise pytest.UsageError(
                    f"{option} {name}=...: no scenario of this run has a {what} {name!r}. "
                    f"By scenario: {listing} (scope one with SCENARIO.NAME=...)"
                )
            for sc, short in targets if attr == "params" else ():
                problem = mismatch(declared[sc][short], given[name])
                if problem:
                    raise pytest.UsageError(
                        f"{option} {name}={given[name]!r}: {sc}'s {short} {problem}"
                    )


def take_shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--chaos-shard I/N: keep part I of the collected runs (harness/shard.py), and say in
    the report folder which they are, for the merge."""
    spec = config.getoption("--chaos-shard")
    if spec is None:
        return
    from harness.shard import Shard, write_marker

    shard, seed = Shard.parse(spec), config.stash[_SEED]
    ids = [item.nodeid for item in items]
    mine = set(shard.pick(ids, seed))
    dropped = [item for item in items if item.nodeid not in mine]
    items[:] = [item for item in items if item.nodeid in mine]
    config.hook.pytest_deselected(items=dropped)
    report_dir = Path(config.getoption("--chaos-report-dir"))
    write_marker(report_dir, shard, seed, sorted(mine), len(ids))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    sweep = metafunc.config.getoption("--chaos-sweep")
    if "chaos_seed" in metafunc.fixturenames and sweep > 1:
        base = metafunc.config.stash[_SEED]
        seeds = [base + i for i in range(sweep)]
        metafunc.parametrize("chaos_seed", seeds, ids=[f"seed={s}" for s in seeds], indirect=True)


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    """The run's seed: --chaos-seed, or one of the --chaos-sweep seeds."""
    return getattr(request, "param", request.config.stash[_SEED])


def _scenario_name(node: pytest.Item) -> str:
    return Path(str(node.fspath)).stem.removeprefix("scenario_").removeprefix("test_")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"_chaos_rep_{report.when}", report)
    if call.excinfo is not None and isinstance(call.excinfo.value, BadInput):
        item._chaos_bad_input = True  # type: ignore[attr-defined]
    if call.excinfo is not None and isinstance(call.excinfo.value, HarnessError):
        # bad input or a broken environment: the message says what to do; no traceback
        report.longrepr = f"{type(call.excinfo.value).__name__}: {call.excinfo.value}"
    return report


def _progress_writer(config: pytest.Config):  # type: ignore[no-untyped-def]
    """One updating line on a terminal; a plain line every 5 s otherwise (CI logs)."""
    tr = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if tr is None or capman is None:
        return None
    last = [0.0]

    def write(line: str, final: bool) -> None:
        with capman.global_and_fixture_disabled():  # the test's output is captured
            if tr.isatty():
                tr.write("\r" + line.ljust(79), flush=True)
                if final:
                    tr.write("\n")
            elif final or time.monotonic() - last[0] >= 5:
                last[0] = time.monotonic()
                tr.write_line(line)

    return write


def _rerun(
    config: pytest.Config, node: pytest.Item, seed: int, **scenario_values: Any
) -> dict[str, Any]:
    """How to rerun this scenario with this seed, as data (harness/options.py
    `rerun_config`): the CLI for a bundled scenario (it works from any folder), pytest on
    the file for a project's own scenario. Each reproducing option's value as given, but
    where `scenario_values` has the one meant for this scenario (its apps, adapters,
    parameters, the load with its ini)."""
    from harness.bundled import scenario_dir

    path = Path(str(node.fspath)).resolve()
    if path.parent == scenario_dir():
        runner, target = "cli", _scenario_name(node)
    else:
        runner, test = "pytest", node.nodeid.split("[")[0].split("::")[-1]
        target = f"{_relative(path)}::{test}"
    values = {o.name: config.getoption(o.pytest_flag) for o in OPTIONS if o.reproduce}
    return rerun_config(runner, target, seed, {**values, **scenario_values})


def parse_params(values: list[str]) -> dict[str, Any]:
    """NAME=VALUE pairs with JSON values (a bare word is a string)."""
    out: dict[str, Any] = {}
    for name, raw in parse_pairs("--chaos-param", values).items():
        try:
            out[name] = json.loads(raw)
        except json.JSONDecodeError:
            out[name] = raw
    return out


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@pytest_asyncio.fixture
async def chaos(request: pytest.FixtureRequest, chaos_seed: int) -> AsyncIterator[Run]:
    """A scenario run: start a server and services, drive, check. See harness/run.py."""
    from harness.run import Run, RunOptions
    from harness.runtime.processes import shielded

    cfg = request.config
    prepare_session(cfg)
    node = request.node
    services = dict(getattr(node.module, "SERVICES", {}))
    contracts = dict(getattr(node.module, "CONTRACTS", {}))
    given = parse_params(cfg.getoption("--chaos-param"))
    scenario = _scenario_name(node)
    declared_params = params_class(node.module)
    mine = {  # the --param values meant for this scenario's Params
        short: v
        for n, v in given.items()
        for scope, _, short in [n.rpartition(".")]
        if scope in ("", scenario) and short in declared_params.defaults()
    }
    scale = cfg.getoption("--chaos-scale")
    params = declared_params.build(mine, scale)
    apps = apps_for(scenario, services, parse_apps(cfg.getoption("--chaos-app")))
    adapters = apps_for(
        scenario,
        contracts,
        parse_pairs("--chaos-adapter", cfg.getoption("--chaos-adapter")),
    )
    # the contracts' assumptions given with --param (lower-case names, set on the contract)
    declared = contract_assumptions(contracts)
    assumed = {
        short: v
        for n, v in given.items()
        for scope, _, short in [n.rpartition(".")]
        if scope in ("", scenario) and short in declared
    }
    applied = {n: v for n, v in given.items() if n.rpartition(".")[2] in {*mine, *assumed}}
    duration = cfg.getoption("--chaos-duration")
    backend, plan = cfg.getoption("--chaos-backend"), cfg.getoption("--chaos-plan")
    subset, topology = cfg.getoption("--chaos-subset"), cfg.getoption("--chaos-topology")
    load = load_of(cfg)
    rerun = _rerun(
        cfg, node, chaos_seed, app=apps, adapter=adapters, load=load,
        param={n: json.dumps(v) for n, v in applied.items()},
    )  # fmt: skip
    # a signal from here until the finalizer is registered waits for it (the run's folder
    # exists from Run(): a run the fixture does not finish would be left running)
    with shielded():
        run = Run(
            scenario,
            RunOptions(
                seed=chaos_seed,
                report_dir=Path(cfg.getoption("--chaos-report-dir")).resolve(),
                restate_bin=cfg.getoption("--restate-bin"),
                keep_data=cfg.getoption("--keep-data"),
                drop_data=cfg.getoption("--chaos-drop-data"),
                html=not cfg.getoption("--chaos-no-html"),
                services=services,
                apps=apps,
                contracts=contracts,
                adapters=adapters,
                app_paths=[Path(p).resolve() for p in cfg.getoption("--chaos-app-path")],
                rerun=rerun,
                description=(getattr(node.module, "__doc__", None) or "").strip(),
                params=params,
                assumed=assumed,
                scale=scale,
                duration=duration,
                backend=backend,
                topology=topology,
                server_admin=cfg.getoption("--chaos-server-admin"),
                server_ingress=cfg.getoption("--chaos-server-ingress"),
                load=load,
                plan_file=None if plan is None else Path(plan).resolve(),
                subset_file=None if subset is None else Path(subset).resolve(),
                progress=_progress_writer(cfg),
            ),
        )
        node.user_properties.extend([("chaos_seed", chaos_seed), ("chaos_report", str(run.dir))])
        cfg.stash[_RUNS].append(run)

        def finish() -> None:
            rep = getattr(node, "_chaos_rep_call", None)
            if rep is None:  # the call never reported: interrupted (a signal) or setup error
                setup = getattr(node, "_chaos_rep_setup", None)
                run.finish(
                    error=None if setup is None else str(setup.longrepr),
                    interrupted=setup is None or setup.passed,
                )
            elif rep.failed and getattr(node, "_chaos_bad_input", False):
                run.finish(error=str(rep.longrepr)[-4000:], bad_input=True)
            elif rep.failed and not run.asserted:
                run.finish(error=str(rep.longrepr)[-4000:])
            else:
                run.finish()
            if run.options.html:  # rendered from the run folder, as `restate-chaos report` does
                render_report(run.dir, run.options.report_dir)
            # pytest's exit code says only "a test failed": JUnit says which status it was
            node.user_properties.append(("chaos_status", run.manifest.get("status", "?")))
            known = sorted({v.known for v in run.verdicts if v.known})
            if known:
                node.user_properties.append(("chaos_known_bug", "; ".join(known)))

        request.addfinalizer(finish)  # sync: runs even when the event loop is gone
    run.selfwatch.start()
    yield run
    await run.close()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    runs = config.stash.get(_RUNS, [])
    if not runs:
        return
    terminalreporter.section("restate-chaos runs")
    for run in runs:
        status = run.manifest.get("status", "?")
        terminalreporter.write_line(
            f"{status:11} {run.scenario} seed={run.seed}  {run.dir}",
            green=status == "passed",
            red=status in ("failed", "crashed", "bad-input"),
            yellow=status in ("unknown", "interrupted"),
        )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leak check: every process and port the session started must be gone by now."""
    load = session.config.stash.get(_LOAD, None)
    if load is not None:
        load.stop()
    if "harness.runtime.processes" not in sys.modules:
        return  # the session started nothing: no run, no process of the harness's
    from harness.runtime.ports import held_ports
    from harness.runtime.processes import REGISTRY

    leaks = REGISTRY.leaks()
    ports = held_ports()
    REGISTRY.kill_all()  # clean up either way; the check above is what fails the session
    if (leaks or ports) and os.environ.get("RESTATE_CHAOS_NO_LEAK_CHECK") != "1":
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        msg = "restate-chaos leak check FAILED: teardown left these behind:\n" + "\n".join(
            [f"  process {x}" for x in leaks] + [f"  port {p} still reserved" for p in ports]
        )
        if tr is not None:
            tr.write_line(msg, red=True)
        else:
            print(msg)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
