"""The run options, declared once.

`restate-chaos run`'s arguments, the pytest plugin's options (with their ini twins), the
forwarding of the one to the other, the checks of their values, the command that reruns a
run and the options page of the docs (docs/reference/options.md, filled in by
docs/hooks.py) are all derived from OPTIONS. Adding an option is one entry here, and where
its value is used.

Light on purpose: imported by the plugin at pytest's start and by the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Check = Callable[[Any], "str | None"]  # what is wrong with a given value, or None


def at_least_1(v: Any) -> str | None:
    return None if v is None or v >= 1 else f"must be >= 1, got {v}"


def positive_seconds(v: Any) -> str | None:
    return None if v is None or v > 0 else f"must be > 0 seconds, got {v}"


def shard_spec(v: Any) -> str | None:
    from harness.shard import check_spec

    return check_spec(v)


def http_url(v: Any) -> str | None:
    return (
        None
        if v is None or str(v).startswith(("http://", "https://"))
        else (f"must be an http:// or https:// URL, got {v!r}")
    )


def folders(v: Any) -> str | None:
    missing = [p for p in v or [] if not Path(p).is_dir()]
    return f"{missing[0]}: not a folder" if missing else None


@dataclass(frozen=True)
class Option:
    """One option of a run. `name` is the CLI's flag without dashes (`seed`: --seed); the
    pytest flag is --chaos-NAME unless `pytest` names another, and None means CLI only
    (then `pytest_note` says what stands for it under pytest)."""

    name: str
    help: str
    type: type | None = None  # int, float or str; None with flag=True
    default: Any = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    flag: bool = False  # given or not (store_true)
    repeat: bool = False  # may be given several times: a list
    pytest: str | None = ""  # "" = --chaos-NAME; None = CLI only
    pytest_builtin: bool = False  # pytest's own option (`pytest`), passed on as it is
    pytest_note: str = ""  # under pytest, for a CLI-only option
    ini: bool = False  # also an ini setting (chaos_NAME) where the pytest flag is not given
    reproduce: bool = False  # part of the command that reruns a run
    file: bool = False  # a path: the reproduce command names it absolutely (from any folder)
    check: Check | None = None
    doc: str = ""  # the docs' longer meaning (markdown); default: help

    def at_default(self, value: Any) -> bool:
        """Whether `value` is what not giving the option means."""
        return not value if self.flag else value in (None, self.default, [], {})

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}"

    @property
    def pytest_flag(self) -> str | None:
        if self.pytest is None:
            return None
        return self.pytest or f"--chaos-{self.name}"

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def ini_name(self) -> str:
        return f"chaos_{self.dest}"

    def argparse_kwargs(self) -> dict[str, Any]:
        if self.flag:
            return {"action": "store_true", "help": self.help}
        kw: dict[str, Any] = {"help": self.help, "metavar": self.metavar}
        if self.repeat:
            kw.update(action="append", default=[])
        else:
            kw["default"] = self.default
        if self.type is not None:
            kw["type"] = self.type
        if self.choices:
            kw["choices"] = self.choices
            kw.pop("metavar")
        return kw


SEE_REPRODUCE = "(see [Reproducing a run](../how-to/reproduce.md))"

# in the order of the reproduce command and of the docs' table
OPTIONS: tuple[Option, ...] = (
    Option(
        "seed",
        "seed of workload and fault plan (default: random, printed and recorded)",
        type=int,
        metavar="N",
    ),
    Option(
        "sweep",
        "run every scenario with K seeds: SEED, SEED+1, ... SEED+K-1",
        type=int,
        default=1,
        metavar="K",
        check=at_least_1,
    ),
    Option(
        "jobs",
        "run N scenarios at a time (pytest-xdist workers; default: 2 when there are several "
        "runs and at least 2 cores, else 1)",
        type=int,
        metavar="N",
        pytest=None,
        pytest_note="`-n N` (pytest-xdist)",
        check=at_least_1,
        doc="run N scenarios at a time; by default 2 when there are several runs and the "
        "machine has 2 cores or more, else 1: `run all` takes 95 s instead of 171 s with "
        "`--jobs 1` on 2 cores (a run mostly waits: downtimes, timers, retries), with the "
        "same faults landing in flight and in their windows",
    ),
    Option(
        "shard",
        "run only part I of N of the sweep (its scenarios x seeds, controls too), split "
        "by the first seed: N CI jobs with the same command and seed each run one part; "
        "`restate-chaos merge` joins their reports",
        type=str,
        metavar="I/N",
        check=shard_spec,
        doc="run only part I of N of the sweep (every collected scenario x seed, the "
        "negative controls too), split by the first seed, so that N CI jobs given the same "
        "command and `--seed` each run one part and together run each once; each part "
        "leaves `shard-I-of-N.json` in its report folder, and `restate-chaos merge` joins "
        "the parts (see [Reports and CI](../how-to/reports-and-ci.md))",
    ),
    Option(
        "replay",
        "rerun a stored run: its scenario, seed and options, each fault where it actually "
        "fired (the world event, or the number of finished requests)",
        type=Path,
        metavar="RUN_DIR",
        pytest=None,
        pytest_note="(`--chaos-plan RUN_DIR/replay-plan.json`)",
        doc="rerun a stored run with its seed and options, each fault where it actually "
        f"fired {SEE_REPRODUCE}",
    ),
    Option(
        "app",
        "run scenario service NAME from your own implementation: module:app (Python), "
        "cmd:COMMAND (any language, port in $PORT), docker:IMAGE or url:URL (repeatable); "
        "NAME@N=SPEC names the version N an upgrade fault switches to",
        metavar="NAME=SPEC",
        repeat=True,
        reproduce=True,
        doc="run scenario service NAME from your own implementation: `module:app`, "
        "`cmd:COMMAND`, `docker:IMAGE` (with `--backend docker`) or `url:URL` (see [Test "
        "your own service](../tutorial.md))",
    ),
    Option(
        "adapter",
        "talk to service NAME through your adapter (a subclass of the scenario's contract), "
        "for an API that differs from the bundled one (repeatable)",
        metavar="NAME=MODULE:CLASS",
        repeat=True,
        reproduce=True,
    ),
    Option(
        "param",
        "set a scenario parameter (see `list`), e.g. BOOKINGS=60 or sagas.LOST_ANSWER=0 "
        "(VALUE in JSON; repeatable)",
        metavar="NAME=VALUE",
        repeat=True,
        reproduce=True,
        doc="set a scenario parameter (a field of its `Params`, listed by `list`; "
        "`SCENARIO.NAME=` for one scenario of `all`; VALUE in JSON), recorded in run.json "
        "and the reproduce command",
    ),
    Option(
        "scale",
        "multiply each scenario's workload and faults by N, keeping their proportions (the "
        "parameters its Params marks scaled(), and one copy of its fault plan per Nth of "
        "the workload)",
        type=int,
        default=1,
        metavar="N",
        reproduce=True,
        check=at_least_1,
        doc="N times the workload and the faults, in the same proportions: the workload "
        "sizes the scenario's `Params` marks `scaled()` are multiplied, and its fault plan repeats "
        "once per Nth of the workload (event-triggered faults: a scenario scales those "
        "itself with `chaos.scale`, as payments does)",
    ),
    Option(
        "duration",
        "start no request after SECONDS of the chaos phase (a soak, with --scale large enough)",
        type=float,
        metavar="SECONDS",
        reproduce=True,
        check=positive_seconds,
    ),
    Option(
        "backend",
        "run restate-server and the services as processes (default) or as containers on a "
        "Docker engine ($DOCKER_HOST), faulted through the Docker API",
        type=str,
        default="process",
        choices=("process", "docker"),
        reproduce=True,
        doc="run restate-server and the services as processes (default) or as containers "
        "on `$DOCKER_HOST`, faulted through the Docker API (see [Docker](../how-to/docker.md))",
    ),
    Option(
        "topology",
        "restate-server as one node (default) or a 3-node cluster of local processes: node "
        "faults by name (n1..n3), the scenario's server faults on a node chosen by the "
        "seed, the client failing over between the nodes' ingresses",
        type=str,
        default="single",
        choices=("single", "cluster3"),
        reproduce=True,
    ),
    Option(
        "server-admin",
        "aim the run at a Restate server it does not start or own: its admin URL (with "
        "--server-ingress); its own faults are skipped, the run touches only what it "
        "registered and removes it after",
        type=str,
        metavar="URL",
        reproduce=True,
        check=http_url,
        doc="aim the run at a Restate server or cluster the harness did not start: its admin "
        "URL, with `--server-ingress`. The services are registered with it and faulted as "
        "usual; the scenario's server faults are skipped with the reason, so a scenario "
        "that needs them comes out unknown (see "
        "[Aim at a server you run](../how-to/existing-server.md))",
    ),
    Option(
        "server-ingress",
        "the ingress URL of the --server-admin server",
        type=str,
        metavar="URL",
        reproduce=True,
        check=http_url,
    ),
    Option(
        "load",
        "keep N cores busy (plain busy loops) for the whole command or session, to "
        "reproduce a slow or shared machine; recorded in run.json and the reproduce command",
        type=int,
        default=0,
        metavar="N",
        ini=True,
        reproduce=True,
        doc="keep N cores busy (plain busy loops) for the whole command or session, to "
        "reproduce a slow or shared machine; recorded in run.json and the reproduce command "
        "(see [Verdicts on any machine](../explanation/verdicts.md))",
    ),
    Option(
        "plan",
        "run this fault plan instead of the scenario's seeded one: a JSON list of faults, or "
        "a stored run's run.json (its recorded plan, as it was run)",
        type=str,
        metavar="FILE",
        reproduce=True,
        file=True,
        doc="run this fault plan instead of the scenario's seeded one: a JSON list of "
        f"faults, or a stored run's run.json {SEE_REPRODUCE}",
    ),
    Option(
        "subset",
        'run only part of the workload: a JSON {"keys": [...], "items": [...]} (business '
        "keys, positions in the workload), or a stored run's run.json (its subset)",
        type=str,
        metavar="FILE",
        reproduce=True,
        file=True,
        doc='run only part of the workload: `{"keys": [...], "items": [...]}` (business '
        "keys; positions in the generated workload), or a run's run.json; what `shrink` "
        f"cuts {SEE_REPRODUCE}",
    ),
    Option(
        "app-path",
        "also import Python apps and adapters from DIR (default: the working directory "
        "only; repeatable)",
        metavar="DIR",
        repeat=True,
        check=folders,
    ),
    Option(
        "report-dir",
        "where run directories are written (default: reports/)",
        type=str,
        default="reports",
        metavar="DIR",
    ),
    Option(
        "restate-bin",
        "restate-server binary (default: $RESTATE_SERVER_BIN, else installed from npm)",
        type=str,
        metavar="PATH",
        pytest="--restate-bin",
    ),
    Option(
        "keep-data",
        "keep restate-server data dirs also of passing runs (failing runs keep them)",
        flag=True,
        pytest="--keep-data",
    ),
    Option(
        "drop-data",
        "remove restate-server data dirs (about 200 MB a run) also of failing runs: what a "
        "shrink's many reruns do; history, ledger, Restate's rows and logs stay",
        flag=True,
    ),
    Option(
        "no-html",
        "write each run's data and results.json but no HTML report (render it later with "
        "`restate-chaos report RUN_DIR`): what a shrink's many reruns do",
        flag=True,
    ),
    Option(
        "junitxml",
        "also write a JUnit XML report of the runs to FILE (for CI dashboards)",
        type=str,
        metavar="FILE",
        pytest="--junitxml",
        pytest_builtin=True,
    ),
    Option(
        "shrink",
        "shrink every violated run to a minimal reproduction (see `shrink`)",
        flag=True,
        pytest=None,
    ),
    Option(
        "shrink-budget",
        "with --shrink: the time all shrinks share (default 900)",
        type=float,
        default=900.0,
        metavar="SECONDS",
        pytest=None,
        check=positive_seconds,
    ),
)
BY_NAME = {o.name: o for o in OPTIONS}


def add_cli_arguments(parser: Any) -> None:
    """The options as arguments of an argparse (sub)parser."""
    for o in OPTIONS:
        parser.add_argument(o.cli_flag, **o.argparse_kwargs())


def add_pytest_options(group: Any, parser: Any) -> None:
    """The options the pytest plugin takes, with their ini twins (not pytest's own)."""
    for o in OPTIONS:
        flag = o.pytest_flag
        if flag is None or o.pytest_builtin:
            continue
        kw = o.argparse_kwargs()
        if o.ini:  # no default on the flag: the ini's value stands where it is not given
            kw["default"] = None
            kw["help"] += f" (ini: {o.ini_name}; default {o.default})"
            parser.addini(o.ini_name, o.help, default=str(o.default))
        group.addoption(flag, **kw)


def problems(values: dict[str, Any], surface: str = "cli") -> list[str]:
    """What is wrong with the given values (option name -> value), each naming the flag
    of `surface` ("cli" or "pytest")."""
    out = []
    for name, value in values.items():
        o = BY_NAME[name]
        wrong = o.check(value) if o.check else None
        if wrong:
            out.append(f"{o.cli_flag if surface == 'cli' else o.pytest_flag} {wrong}")
    return out


def to_pytest_args(args: Any) -> list[str]:
    """The pytest options that carry a parsed `run` command line's values (argparse
    namespace) to the plugin (and to pytest, for its own); values left at their default
    are not passed."""
    out = []
    for o in OPTIONS:
        flag, value = o.pytest_flag, getattr(args, o.dest)
        if flag is None or o.at_default(value):
            continue
        if o.flag:
            out.append(flag)
        elif o.repeat:
            out += [f"{flag}={v}" for v in value]
        else:
            out.append(f"{flag}={value}")
    return out


def rerun_config(runner: str, target: str, seed: int, values: dict[str, Any]) -> dict[str, Any]:
    """How to run a run again, as data (run.json's `config`): `runner` "cli" (`restate-chaos
    run TARGET`, a bundled scenario) or "pytest" (`pytest TARGET`, a project's own), the
    seed, and the options that reproduce it (option name -> value: NAME=VALUE options as
    dicts, parameters JSON-encoded), those at their default left out."""
    options: dict[str, Any] = {}
    for o in OPTIONS:
        value = values.get(o.name, o.default)
        if not o.reproduce or o.at_default(value):
            continue
        if o.file:
            value = str(Path(value).resolve())
        options[o.name] = value
    return {"runner": runner, "target": target, "seed": seed, "options": options}


def command(config: dict[str, Any], drop: tuple[str, ...] = ()) -> list[str]:
    """The command line of a `rerun_config`, without the options `drop`."""
    seed = str(config["seed"])
    if config["runner"] == "cli":
        prefix, head = "--", ["restate-chaos", "run", config["target"], "--seed", seed]
    else:
        prefix, head = "--chaos-", ["pytest", config["target"], "--chaos-seed", seed]
    out = head
    for name, value in config["options"].items():
        if name in drop:
            continue
        flag = f"{prefix}{name}"
        if isinstance(value, dict):
            out += [x for n, v in value.items() for x in (flag, f"{n}={v}")]
        else:
            out += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return out


def markdown_table() -> str:
    """The docs' options table (docs/reference/options.md, by docs/hooks.py)."""

    def shown(o: Option, flag: str | None) -> str:
        if flag is None:
            return o.pytest_note or "(CLI only)"
        if o.flag:
            return f"`{flag}`"
        arg = "\\|".join(o.choices) if o.choices else (o.metavar or "VALUE")
        ini = o.ini and flag == o.pytest_flag
        return f"`{flag} {arg}`" + (f" (ini `{o.ini_name}`)" if ini else "")

    rows = [
        "| CLI (`restate-chaos run SCENARIO\\|all\\|PATH... ...`) | pytest | meaning |",
        "| --- | --- | --- |",
    ]
    for o in OPTIONS:
        meaning = (o.doc or o.help).replace("|", "\\|")
        rows.append(f"| {shown(o, o.cli_flag)} | {shown(o, o.pytest_flag)} | {meaning} |")
    return "\n".join(rows)
