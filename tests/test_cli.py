import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO


def cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_explains_the_commands():
    out = cli("--help")
    assert out.returncode == 0
    for word in ("list", "run", "provision", "--seed"):
        assert word in out.stdout


def test_list_shows_the_smoke_scenario_with_its_summary():
    out = cli("list")
    assert out.returncode == 0
    assert "smoke" in out.stdout and "kill -9" in out.stdout


def test_list_shows_the_fault_kinds_each_scenario_uses():
    kinds, name = {}, None
    for line in cli("list").stdout.splitlines():
        if line[:1].isalpha():
            name = line.split()[0]
        elif "fault kinds: " in line:
            kinds[name] = line.split("fault kinds: ")[1]
    assert kinds["smoke"] == "kill"
    assert kinds["payments"] == "kill, latency, reset, fail-nth"
    assert kinds["sagas"] == "kill, blackhole, reset, reset-connections, cancel-invocation"


def test_unknown_scenario_is_a_clear_error_and_writes_nothing(tmp_path):
    out = cli("run", "nosuch", "--report-dir", str(tmp_path / "r"))
    assert out.returncode == 2
    assert "unknown scenario 'nosuch'" in out.stderr and "smoke" in out.stderr
    assert not (tmp_path / "r").exists()


def test_invalid_parameters_are_clear_errors(tmp_path):
    out = cli("run", "smoke", "--sweep", "0")
    assert out.returncode == 2 and "--sweep must be >= 1" in out.stderr
    out = cli("run", "smoke", "--scale", "0")
    assert out.returncode == 2 and "--scale must be >= 1, got 0" in out.stderr
    out = cli("run", "smoke", "--duration", "-1")
    assert out.returncode == 2 and "--duration must be > 0 seconds" in out.stderr
    out = cli("run", "smoke", "--load", "-1", "--report-dir", str(tmp_path / "r"))
    assert out.returncode == 2 and "load must be 0-" in out.stdout + out.stderr
    out = cli("run", "smoke", "--app", "counter", "--report-dir", str(tmp_path / "r"))
    assert out.returncode != 0
    assert "expected NAME=SPEC, e.g. counter=myapp.svc:app" in out.stdout + out.stderr
    assert not (tmp_path / "r").exists()
    (tmp_path / "file").write_text("")
    for report_dir in (tmp_path / "file", tmp_path / "file" / "sub"):
        out = cli("run", "smoke", "--report-dir", str(report_dir))
        assert out.returncode == 2 and "is a file, not a folder" in out.stderr, out
        assert "Traceback" not in out.stdout + out.stderr


def test_an_app_that_is_not_a_restate_app_is_bad_input_at_once(tmp_path):
    """A service object (not the app restate.app() returns): exit 2 in seconds, named."""
    t0 = time.monotonic()
    app = "counter=harness.bundled.services.counter:counter"
    out = cli("run", "smoke", "--seed", "1", "--report-dir", str(tmp_path), "--app", app)
    assert out.returncode == 2, out.stdout
    assert "is a VirtualObject, not a Restate app" in out.stdout
    assert time.monotonic() - t0 < 30  # a generous ceiling (about 3 s here)


def test_missing_binary_is_a_clear_error_without_traceback(tmp_path):
    out = cli(
        "run",
        "smoke",
        "--seed",
        "1",
        "--restate-bin",
        str(tmp_path / "nope"),
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert out.returncode == 3  # the harness could not run: not a verdict about the system
    assert (
        f"BinaryNotFound: restate-server binary from --restate-bin does not exist: "
        f"{tmp_path / 'nope'}" in out.stdout
    )
    assert "Traceback" not in out.stdout


def test_no_html_writes_the_data_and_a_later_report_renders_it(tmp_path):
    """--no-html: results.json and the evidence, no index.html and no dashboard; the next
    run's dashboard links the run's folder, and `report` renders its HTML."""
    reports = tmp_path / "r"
    small = ("--seed", "5", "--param", "OPS=50", "--report-dir", str(reports))
    out = cli("run", "smoke", *small, "--no-html")
    assert out.returncode == 0, out.stdout
    assert "dashboard:" not in out.stdout
    (bare,) = (p for p in reports.iterdir() if p.is_dir())
    assert (bare / "results.json").is_file() and (bare / "history.jsonl").is_file()
    assert not (bare / "index.html").exists() and not (reports / "index.html").exists()
    assert cli("run", "smoke", *small).returncode == 0
    dashboard = (reports / "index.html").read_text()
    assert f'href="{bare.name}/"' in dashboard  # its folder: it has no page
    out = cli("report", str(bare))
    assert out.returncode == 0, out.stdout
    assert (bare / "index.html").is_file()
    assert f'href="{bare.name}/index.html"' in (reports / "index.html").read_text()


def test_run_with_seed_writes_a_reproducible_run_dir(tmp_path):
    """Also at --scale 2: twice the workload and faults, recorded and reproducible; and
    with --load 1, one core kept busy for the run, recorded with what the harness measured
    of itself (its event loop's lag, the machine's CPU wait)."""
    args = ("--seed", "5", "--scale", "2", "--duration", "120", "--load", "1")
    out = cli("run", "smoke", *args, "--report-dir", str(tmp_path / "r"))
    assert out.returncode == 0, out.stdout
    (run_dir,) = (p for p in (tmp_path / "r").iterdir() if p.is_dir())
    assert (tmp_path / "r" / "index.html").is_file()  # the dashboard
    import json

    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["seed"] == 5 and manifest["status"] == "passed"
    assert manifest["reproduce"] == "restate-chaos run smoke " + " ".join(args)
    assert manifest["params"]["OPS"] == 1000 and manifest["params"]["KEYS"] == 40  # scaled
    assert manifest["scale"] == 2 and manifest["duration_limit"] == 120
    assert len(manifest["plan"]) == 4  # the plan once per half of the workload
    assert manifest["load"] == {"busy_cores": 1}
    results = json.loads((run_dir / "results.json").read_text())
    harness = results["stats"]["harness"]
    assert 0 <= harness["lag_p50_ms"] <= harness["lag_p99_ms"] <= harness["lag_max_ms"]
    if Path("/proc/pressure/cpu").exists():  # a busy loop beside a run: tasks waited
        assert harness["cpu_wait_mean"] > 0, harness
    lines = (run_dir / "history.jsonl").read_text().splitlines()
    assert any('"type":"lag"' in line for line in lines)
    assert results["stats"]["driver"]["requests"] > 1000
    assert manifest["versions"]["restate_server"] == "1.7.12"
    assert manifest["versions"]["restate_sdk"].startswith("1.")
    assert manifest["versions"]["harness"] == "0.1.0"
    assert manifest["git"]["sha"]
    for name in ("history.jsonl", "faults.jsonl", "results.json", "invocations.json"):
        assert (run_dir / name).is_file(), name
    assert not (run_dir / "restate" / "n1" / "data").exists()  # passing run: data removed


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_two_jobs_without_a_seed_share_one_drawn_seed(tmp_path):
    """--jobs 2 runs pytest-xdist workers; each must take the seed the controller drew, or
    they collect different tests (and the run could not be reproduced)."""
    import json

    # a scenario that starts nothing: the seeds are under test, not the runs (no verdict: 4)
    out = cli("run", "tests/data/shard/noop_a.py", "--jobs", "2", "--sweep", "2",
              "--report-dir", str(tmp_path))  # fmt: skip
    assert out.returncode == 4, out.stdout + out.stderr
    seeds = sorted(json.loads(p.read_text())["seed"] for p in tmp_path.glob("*/run.json"))
    assert len(seeds) == 2 and seeds[1] == seeds[0] + 1


def test_several_runs_take_two_jobs_by_default_on_two_cores(monkeypatch):
    from pathlib import Path

    from harness.cli import default_jobs

    one, two = [Path(__file__)], [Path(__file__)] * 2
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_jobs(one, 1) == 1  # one run: no workers to start
    assert default_jobs(two, 1) == default_jobs(one, 3) == default_jobs([REPO], 1) == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_jobs(two, 1) == 1


def test_a_docker_image_needs_the_docker_backend(tmp_path):
    app = "counter=docker:restate-chaos/python:latest"
    out = cli("run", "smoke", "--report-dir", str(tmp_path / "r"), "--app", app)
    assert out.returncode == 2
    assert "a docker: image runs with --chaos-backend docker" in out.stdout + out.stderr
    assert not (tmp_path / "r").exists()


def loaded_after(code: str, heavy: tuple[str, ...]) -> list[str]:
    """Which of `heavy` modules a fresh interpreter has loaded after running `code`."""
    code += f"\nprint(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", "import json, sys\n" + code],
        cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_pytest_session_without_scenarios_touches_nothing(tmp_path):
    """Issue 28: with the wheel installed, an unrelated project's pytest session loads no
    run machinery (no signal handlers, no sweep of leftovers, no settling of dead runs:
    those come with the first `chaos` fixture)."""
    heavy = ("harness.runtime.processes", "harness.runtime.reaper", "harness.runtime.service",
             "harness.run", "harness.report")  # fmt: skip
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    (tmp_path / "conftest.py").write_text(
        "import sys\n\ndef pytest_unconfigure(config):\n"
        f"    print('LOADED', sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0 and "LOADED []" in out.stdout, out.stdout + out.stderr


def test_the_run_core_does_not_import_the_report_layer():
    """Issue 28: a run writes its folder; the report is rendered from the folder after it
    (the plugin, `restate-chaos report`), so the core imports no report module."""
    heavy = ("harness.report", "harness.report.render", "jinja2", "matplotlib")
    assert loaded_after("import harness.run", heavy) == []


def test_help_and_list_stay_lean():
    """--help and list import neither the report layer nor the run: they answer at once."""
    code = (
        "import contextlib, io\n"
        "from harness.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['list'])\n"
    )
    assert loaded_after(code, ("matplotlib", "jinja2", "harness.run", "pytest")) == []


def test_the_run_layer_loads_charts_and_templates_only_to_render():
    """matplotlib (with numpy and PIL, 50 MB) and jinja2 are loaded by the first report, not
    by the run: its chaos and check phases hold a soak's workload and history meanwhile."""
    code = "import harness, harness.run, harness.pytest_plugin, harness.report.analyze"
    assert loaded_after(code, ("matplotlib", "numpy", "PIL", "jinja2")) == []


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_a_recorded_plan_runs_again_with_plan(tmp_path):
    """--plan RUN/run.json runs that run's fault plan as it was (another seed, the same
    plan digest), recorded and in the reproduce command; a bad plan is bad input."""
    import json

    small = ("--param", "OPS=100")  # the plan is under test, not the workload
    out = cli("run", "smoke", "--seed", "5", *small, "--report-dir", str(tmp_path / "a"))
    assert out.returncode == 0, out.stdout
    (first,) = (tmp_path / "a").glob("*-smoke-*")
    out = cli("run", "smoke", "--seed", "6", *small, "--plan", str(first / "run.json"),
              "--report-dir", str(tmp_path / "b"))  # fmt: skip
    assert out.returncode == 0, out.stdout
    (second,) = (tmp_path / "b").glob("*-smoke-*")
    a, b = (json.loads((d / "run.json").read_text()) for d in (first, second))
    assert b["plan_digest"] == a["plan_digest"] and b["seed"] == 6
    assert f"--plan {first / 'run.json'}" in b["reproduce"]

    (tmp_path / "bad.json").write_text('{"x": 1}')
    out = cli(
        "run", "smoke", "--plan", str(tmp_path / "bad.json"), "--report-dir", str(tmp_path / "c")
    )
    assert out.returncode == 2 and "expected a JSON list of faults" in out.stderr
    assert not (tmp_path / "c").exists()
    (tmp_path / "odd.json").write_text('[{"kind": "kill", "target": "nope", "after_ops": 5}]')
    out = cli(
        "run", "smoke", "--plan", str(tmp_path / "odd.json"), "--report-dir", str(tmp_path / "d")
    )
    assert out.returncode == 2 and "no target nope in this scenario" in out.stdout


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_replay_reruns_a_violated_run_with_its_faults_where_they_fired(tmp_path):
    """--replay RUN_DIR: the stored run's scenario, seed and --app, each fault on the world
    event that fired it (or at the finished-request count where it acted); the double
    charge comes back, and the replay says how to run it again."""
    import json

    app = "payments=harness.bundled.services.broken.payments_random_key:app"
    out = cli("run", "payments", "--seed", "200", "--app", app, "--param", "PAYMENTS=120",
              "--report-dir", str(tmp_path / "a"))  # fmt: skip
    assert out.returncode == 1, out.stdout
    (orig,) = (tmp_path / "a").glob("*-payments-*")
    out = cli("run", "--replay", str(orig), "--report-dir", str(tmp_path / "b"))
    assert out.returncode == 1, out.stdout
    assert "exactly_once:charge: False" in out.stdout
    (replay,) = (tmp_path / "b").glob("*-payments-*")
    manifest = json.loads((replay / "run.json").read_text())
    assert manifest["seed"] == 200 and manifest["services"]["payments"]["app"] == app.split("=")[1]
    assert f"--plan {orig / 'replay-plan.json'}" in manifest["reproduce"]
    fired = [
        json.loads(line)
        for line in (orig / "faults.jsonl").read_text().splitlines()
        if '"fault-start"' in line
    ]
    plan = manifest["plan"]
    assert len(plan) == len(fired)
    for f, r in zip(plan, fired, strict=True):
        if r.get("world_key"):
            assert f["on_event"]["key"] == r["world_key"]
        else:
            assert f["after_ops"] == r["ops_done"]
    out = cli("run", "--replay", str(tmp_path), "--report-dir", str(tmp_path / "c"))
    assert out.returncode == 2 and "not a run folder" in out.stderr
