"""The run options are declared once (harness/options.py): every option reaches every
surface it belongs to (the CLI, the pytest plugin and its ini, the forwarding from the one
to the other, the reproduce command, the docs' table), and a wrong value or an unknown
option is an error naming it."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from harness.cli import build_parser
from harness.options import (
    OPTIONS,
    command,
    markdown_table,
    problems,
    rerun_config,
    to_pytest_args,
)

REPO = Path(__file__).resolve().parents[1]


def a_value(o):
    """A value other than the option's default, as the CLI would parse it."""
    if o.flag:
        return True
    if o.repeat:
        return [str(REPO)] if o.name == "app-path" else ["x=y"]
    if o.choices:
        return next(c for c in o.choices if c != o.default)
    return {int: 7, float: 2.5, Path: Path("/tmp/r")}.get(o.type, "/tmp/file.json")


def run_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def test_every_option_reaches_the_cli_the_plugin_and_the_docs(pytestconfig):
    """The plugin is loaded in this very session: its options are pytest's."""
    cli_flags = {s for a in run_parser()._actions for s in a.option_strings}
    table = markdown_table()
    for o in OPTIONS:
        assert o.cli_flag in cli_flags, o.name
        if o.pytest_flag:
            pytestconfig.getoption(o.pytest_flag)  # raises ValueError when unknown
        assert f"| `{o.cli_flag}" in table, o.name
        if o.ini:
            assert str(pytestconfig.getini(o.ini_name)) == str(o.default), o.name


def test_every_value_the_cli_takes_is_passed_on_to_pytest():
    """Each option given a value other than its default comes out as its pytest flag (the
    CLI-only ones stay with the CLI), and the plugin parses what comes out."""
    for o in OPTIONS:
        args = run_parser().parse_args([])
        setattr(args, o.dest, a_value(o))
        out = to_pytest_args(args)
        if o.pytest_flag is None:
            assert out == [], o.name
            continue
        assert out and out[0].split("=")[0] == o.pytest_flag, (o.name, out)
    assert to_pytest_args(run_parser().parse_args([])) == []  # defaults are not passed on


def test_a_run_is_rerun_from_its_config_and_the_command_parses_back_to_it():
    """run.json's `config` is the run's options as data; the command made from it (the
    reproduce command, replay's, shrink's) gives the CLI the same values back."""
    values = {"app": {"payments": "cmd:node x.mjs --port 1"}, "adapter": {"p": "m:C"},
              "param": {"OPS": json.dumps(60)}, "scale": 2, "duration": 1.5,
              "backend": "docker", "topology": "cluster3", "load": 1,
              "plan": "/tmp/plan.json", "subset": "/tmp/subset.json",
              "server-admin": "http://127.0.0.1:9070",
              "server-ingress": "http://127.0.0.1:8080"}  # fmt: skip
    assert {o.name for o in OPTIONS if o.reproduce} == set(values)
    config = rerun_config("cli", "smoke", 7, values)
    assert json.loads(json.dumps(config)) == config  # plain data
    tokens = command(config)
    assert tokens[:5] == ["restate-chaos", "run", "smoke", "--seed", "7"]
    args = run_parser().parse_args(tokens[2:])
    assert args.app == ["payments=cmd:node x.mjs --port 1"] and args.adapter == ["p=m:C"]
    assert args.param == ["OPS=60"] and (args.scale, args.duration) == (2, 1.5)
    assert (args.backend, args.topology, args.load) == ("docker", "cluster3", 1)
    assert (args.plan, args.subset) == ("/tmp/plan.json", "/tmp/subset.json")
    assert (args.server_admin, args.server_ingress) == (
        "http://127.0.0.1:9070", "http://127.0.0.1:8080",
    )  # fmt: skip
    assert "--plan" not in command(config, drop=("plan",))
    defaults = {"scale": 1, "backend": "process", "topology": "single", "load": 0}
    assert rerun_config("pytest", "t.py::test", 1, defaults)["options"] == {}
    assert command(rerun_config("pytest", "t.py::test", 1, {"scale": 3})) == [
        "pytest", "t.py::test", "--chaos-seed", "1", "--chaos-scale", "3",
    ]  # fmt: skip


def test_a_wrong_value_names_the_option_on_either_surface():
    assert problems({"sweep": 0}) == ["--sweep must be >= 1, got 0"]
    assert problems({"duration": 0.0}, "pytest") == [
        "--chaos-duration must be > 0 seconds, got 0.0"
    ]
    assert problems({"app-path": ["/nonexistent"]}) == ["--app-path /nonexistent: not a folder"]
    assert problems({"scale": 3, "app-path": [str(REPO)]}) == []


def test_an_option_run_does_not_know_is_an_error_not_passed_on(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "harness", "run", "smoke", "--chaos-seed", "3",
         "--report-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "unrecognized arguments: --chaos-seed" in out.stderr
    assert not list(tmp_path.iterdir())
