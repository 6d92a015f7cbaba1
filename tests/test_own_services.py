"""Pointing scenarios at services the harness does not ship: --app names, url: deployments."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import psutil
import pytest

from harness.runtime.node import provision_node_project
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry
from harness.runtime.service import ServiceProcess
from tests.conftest import REPO


def cli(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_an_app_for_a_service_the_scenario_lacks_is_bad_input(tmp_path):
    t0 = time.monotonic()
    out = cli("run", "smoke", "--report-dir", str(tmp_path / "r"), "--app", "countr=a.b:app")
    assert out.returncode == 2
    assert "no scenario of this run has a service 'countr'" in out.stdout + out.stderr
    assert "smoke: counter" in out.stdout + out.stderr  # the valid names
    assert time.monotonic() - t0 < 30  # a generous ceiling: nothing is started
    assert not (tmp_path / "r").exists()


def test_list_shows_services_and_controls():
    out = cli("list")
    assert out.returncode == 0
    assert "services (--app NAME=...): payments" in out.stdout
    assert "multiplied by --scale N: PAYMENTS, ACCOUNTS" in out.stdout
    assert (
        "a subclass of harness.bundled.scenarios.scenario_payments.PaymentsContract" in out.stdout
    )
    assert "--app payments=harness.bundled.services.broken.payments_clock_state:app" in out.stdout


def test_a_url_deployment_is_registered_and_never_faulted(tmp_path):
    """The user runs the counter; the harness registers it, skips the fault aimed at it
    (recorded with the reason) and, with one of two faults, calls the run inconclusive."""
    reg, alloc = ProcessRegistry(), PortAllocator()
    theirs = ServiceProcess(
        "harness.bundled.services.counter:app", alloc.allocate(), tmp_path, registry=reg
    )
    try:
        import asyncio

        asyncio.run(theirs.start())
        out = cli(
            "run", "smoke", "--seed", "3", "--report-dir", str(tmp_path / "r"),
            "--app", f"counter=url:http://127.0.0.1:{theirs.port}",
        )  # fmt: skip
        assert theirs.proc.alive()  # never killed
    finally:
        reg.kill_all()
        alloc.release_all()
    assert out.returncode == 4, out.stdout  # unknown: too few faults could land
    (run,) = (tmp_path / "r").glob("*-smoke-s3-*")
    skipped = [
        json.loads(line)
        for line in (run / "faults.jsonl").read_text().splitlines()
        if '"fault-skipped"' in line
    ]
    assert [f["target"] for f in skipped] == ["counter"]
    assert "URL deployment" in skipped[0]["reason"]
    assert (
        "1 planned fault not injected: counter is a URL deployment"
        in (run / "index.html").read_text()
    )  # the report says so
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["services"]["counter"]["faultable"] is False
    results = json.loads((run / "results.json").read_text())
    assert {v["id"]: v["valid"] for v in results["verdicts"]}["counters"] is True


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_preflight_stops_a_service_that_does_not_serve_the_scenarios_calls(tmp_path):
    """Wrong handler names (admin API) and a body the handler cannot read (a probe that
    Restate shows failing) are bad input, explained, before any fault."""
    out = cli(
        "run", "payments", "--seed", "1", "--report-dir", str(tmp_path / "a"),
        "--app", "payments=tests.data.payments_other_names:app",
    )  # fmt: skip
    assert out.returncode == 2, out.stdout
    assert (
        "the scenario calls Payments/create, but service 'payments' registered Payments "
        "with handlers makePayment" in out.stdout
    )
    out = cli(
        "run", "payments", "--seed", "1", "--report-dir", str(tmp_path / "b"),
        "--app", "payments=tests.data.payments_other_body:app",
    )  # fmt: skip
    assert out.returncode == 2, out.stdout
    assert "Payments/create cannot take the scenario's request" in out.stdout
    assert "KeyError('cents')" in out.stdout
    (run,) = (tmp_path / "b").glob("*-payments-*")
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "bad-input"
    out = cli(
        "run", "payments", "--seed", "1", "--report-dir", str(tmp_path / "c"),
        "--app", "payments=tests.data.payments_other_answer:app",
    )  # fmt: skip
    assert out.returncode == 2, out.stdout
    assert (
        'Payments/create answered {"paymentId": "p0", "state": "OK"}, which PaymentsContract '
        "cannot read as the answer to 'create': KeyError: 'status'" in out.stdout
    )
    faults = run / "faults.jsonl"
    assert not faults.exists() or faults.read_text() == ""  # stopped before any fault


def orders_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI from the user-style project examples/orders (its own API: Checkout)."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO / "examples" / "orders",
        capture_output=True,
        text=True,
        timeout=600,
    )


ADAPTER = "payments=chaos.payments_adapter:CheckoutPayments"


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_an_adapter_flags_a_broken_implementation_of_another_api(tmp_path):
    """The broken Checkout (a fresh key per charge attempt) is flagged through the adapter
    (exit 1); the correct one holds through it in tests/test_install.py, from the wheel."""
    out = orders_cli(
        "run", "payments", "--seed", "31", "--report-dir", str(tmp_path / "broken"),
        "--app", "payments=orders.broken:app", "--adapter", ADAPTER,
    )  # fmt: skip
    assert out.returncode == 1, out.stdout
    assert "exactly_once:charge: False" in out.stdout
    (run,) = (tmp_path / "broken").glob("*-payments-*")
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["adapters"] == {"payments": ADAPTER.split("=", 1)[1]}
    assert "--adapter payments=chaos.payments_adapter:CheckoutPayments" in manifest["reproduce"]


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_an_adapter_points_a_state_scenario_at_another_api(tmp_path):
    """object_state through an adapter: Watchlists' follow/show with other bodies and
    answers hold every guarantee; its in-memory variant is flagged through the same adapter."""
    adapter = "subscriptions=tests.data.user_lists_adapter:WatchlistsAdapter"
    args = ["run", "object_state", "--seed", "7", "--adapter", adapter]
    out = cli(*args, "--app", "subscriptions=tests.data.user_lists:app",
              "--report-dir", str(tmp_path / "ok"))  # fmt: skip
    assert out.returncode == 0, out.stdout
    (run,) = (tmp_path / "ok").glob("*-object_state-*")
    verdicts = {v["id"]: v for v in json.loads((run / "results.json").read_text())["verdicts"]}
    assert verdicts["set_members"]["stats"]["acknowledged"] > 100, verdicts["set_members"]
    out = cli(*args, "--app", "subscriptions=tests.data.user_lists:broken_app",
              "--report-dir", str(tmp_path / "broken"))  # fmt: skip
    assert out.returncode == 1, out.stdout
    assert "set_members: False" in out.stdout


def test_bad_adapters_are_bad_input(tmp_path):
    out = orders_cli("run", "payments", "--adapter", "paymnts=chaos.payments_adapter:X")
    assert out.returncode == 2
    assert "no scenario of this run has a contract 'paymnts'" in out.stdout + out.stderr
    out = orders_cli(
        "run", "payments", "--seed", "1", "--report-dir", str(tmp_path / "r"),
        "--adapter", "payments=orders.service:place_order",
    )  # fmt: skip
    assert out.returncode == 2
    assert "must be a class that subclasses the scenario's contract" in out.stdout


def test_an_app_outside_the_working_directory_is_found_with_app_path(tmp_path):
    (tmp_path / "mysvc").mkdir()
    counter = (REPO / "services" / "counter.py").read_text()
    (tmp_path / "mysvc" / "counter_app.py").write_text(counter)
    app = "counter=counter_app:app"
    out = cli("run", "smoke", "--seed", "2", "--report-dir", str(tmp_path / "a"), "--app", app)
    assert out.returncode == 2  # the app could not start: bad input, the message says how
    assert "pass --app-path DIR" in out.stdout
    assert "service 'counter' (counter_app:app) did not start" in out.stdout
    out = cli(
        "run", "smoke", "--seed", "2", "--report-dir", str(tmp_path / "b"),
        "--app", app, "--app-path", str(tmp_path / "mysvc"),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout


def test_scenario_parameters_are_set_recorded_and_checked(tmp_path):
    out = cli(
        "run", "smoke", "--seed", "2", "--report-dir", str(tmp_path / "r"),
        "--param", "OPS=120", "--param", "smoke.KEYS=4",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout
    (run,) = (tmp_path / "r").glob("*-smoke-*")
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["params"]["OPS"] == 120 and manifest["params"]["KEYS"] == 4
    assert manifest["reproduce"].endswith("--param OPS=120 --param smoke.KEYS=4")
    lines = (run / "history.jsonl").read_text().splitlines()
    invokes = [r for r in map(json.loads, lines) if r["type"] == "invoke"]
    assert {r["key"] for r in invokes} == {"c0", "c1", "c2", "c3"}
    for bad, says in [("OPZ=1", "no scenario of this run has a parameter 'OPZ'"),
                      ("OPS=many", "smoke's OPS is a int (now 500)")]:  # fmt: skip
        out = cli("run", "smoke", "--report-dir", str(tmp_path / "bad"), "--param", bad)
        assert out.returncode == 2 and says in out.stdout + out.stderr
    assert not (tmp_path / "bad").exists()
    assert "parameters (--param NAME=VALUE): OPS=500 KEYS=20" in cli("list").stdout


def test_node_dependencies_need_npm_and_say_so(tmp_path, monkeypatch):
    import pytest

    from harness.errors import HarnessError
    from harness.runtime import node

    monkeypatch.setenv("RESTATE_CHAOS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(node.shutil, "which", lambda name: None)
    project = tmp_path / "svc"
    project.mkdir()
    (project / "package.json").write_text('{"dependencies": {"left-pad": "1.3.0"}}')
    with pytest.raises(HarnessError, match="npm is not on PATH"):
        node.provision_node_project(project)
    assert not (project / "node_modules").exists()


def test_an_app_that_hangs_at_start_is_bad_input_within_seconds(tmp_path):
    """A start is judged on evidence, not on a short bound: an app whose processes use no
    CPU time for 10 s without listening has hung (bad input, named with its log), and
    leaves no process behind."""
    (tmp_path / "hanging_app.py").write_text("import time\ntime.sleep(120)\napp = None\n")
    t0 = time.monotonic()
    out = cli(
        "run", "smoke", "--seed", "1", "--report-dir", str(tmp_path / "r"),
        "--app", "counter=hanging_app:app", "--app-path", str(tmp_path),
    )  # fmt: skip
    took = time.monotonic() - t0
    assert out.returncode == 2, out.stdout
    assert "service 'counter' (hanging_app:app) did not start" in out.stdout
    assert "hung: not listening on" in out.stdout
    assert "used no CPU time in the last 10s" in out.stdout
    assert took < 90, took  # a generous ceiling: about 14 s here
    assert not [p for p in psutil.process_iter(["cmdline"]) if "hanging_app:app" in
                " ".join(p.info["cmdline"] or [])]  # fmt: skip


SLOW_IMPORT = """import time
time.sleep(6)  # an import that waits 6 s (a slow disk, a lock), then computes for 2 s
t0 = time.monotonic()
while time.monotonic() - t0 < 2:
    pass
from harness.bundled.services.counter import app
"""


def test_an_app_whose_import_takes_8_s_passes_smoke(tmp_path):
    """A slow start that keeps working is waited for: no bound of a few seconds judges it."""
    (tmp_path / "slow_import.py").write_text(SLOW_IMPORT)
    out = cli(
        "run", "smoke", "--seed", "1", "--report-dir", str(tmp_path / "r"),
        "--app", "counter=slow_import:app", "--app-path", str(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout
    (run,) = (tmp_path / "r").glob("*-smoke-*")
    timings = json.loads((run / "results.json").read_text())["timings"]
    assert timings["counter_start_and_register"] >= 8


def test_a_start_still_busy_past_the_cap_is_crashed_not_bad_input(tmp_path):
    """Past the cap (RESTATE_CHAOS_START_TIMEOUT, 300 s by default) a start that still uses
    CPU is the run's failure (exit 3, crashed), not evidence against the app."""
    busy = "while True:  # an import that computes, and would for long\n    pass\n"
    (tmp_path / "slow_import.py").write_text(busy)
    env = {**os.environ, "RESTATE_CHAOS_START_TIMEOUT": "2"}
    out = cli(
        "run", "smoke", "--seed", "1", "--report-dir", str(tmp_path / "r"),
        "--app", "counter=slow_import:app", "--app-path", str(tmp_path), env=env,
    )  # fmt: skip
    assert out.returncode == 3, out.stdout
    assert "did not start in 2s" in out.stdout, out.stdout
    (run,) = (tmp_path / "r").glob("*-smoke-*")
    assert json.loads((run / "results.json").read_text())["status"] == "crashed"


BAD_APPS = {
    "raises_at_import": ("raise RuntimeError('boom at import')\n", "boom at import"),
    "exits_at_once": ("import sys\nsys.exit(7)\n", "exited with code 7"),
    "dies_after_start": (
        "import os, threading, time\n"
        "from harness.bundled.services.counter import app\n"
        "threading.Thread(target=lambda: (time.sleep(0.2), os._exit(9)), daemon=True).start()\n"
        "time.sleep(0.5)\n",  # dies before it ever listens
        "exited with code 9",
    ),
    # it listens, but is no Restate endpoint: Restate's discovery of it fails
    "not_a_restate_endpoint": (
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 404, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'no'})\n",
        "but Restate could not register it",
    ),
}


@pytest.mark.parametrize("case", BAD_APPS)
def test_an_app_that_fails_at_start_is_bad_input_within_seconds(tmp_path, case):
    """The probe suite's bad apps: exit 2 in seconds, the app named with its log, nothing
    left behind."""
    source, said = BAD_APPS[case]
    (tmp_path / f"{case}.py").write_text(source)
    t0 = time.monotonic()
    out = cli(
        "run", "smoke", "--seed", "1", "--report-dir", str(tmp_path / "r"),
        "--app", f"counter={case}:app", "--app-path", str(tmp_path),
    )  # fmt: skip
    took = time.monotonic() - t0
    assert out.returncode == 2, out.stdout
    assert f"service 'counter' ({case}:app) " in out.stdout
    assert said in out.stdout, out.stdout
    assert "Traceback" not in out.stderr
    assert took < 30, took  # a generous ceiling: 2-3 s here
    assert not [p for p in psutil.process_iter(["cmdline"]) if f"{case}:app" in
                " ".join(p.info["cmdline"] or [])]  # fmt: skip


def test_a_project_scenario_named_on_the_command_line_is_collected_once(tmp_path):
    """A project's `scenario_*.py` (not in `python_files`) given as a path, as its reproduce
    command does (`pytest chaos/scenario_orders.py::test_...`), runs once, not twice."""
    project = tmp_path / "orders"
    subprocess.run(["cp", "-r", str(REPO / "examples" / "orders"), str(project)], check=True)
    for args in (["chaos/scenario_orders.py::test_orders_charged_once"], ["chaos"], []):
        out = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
             *args],
            cwd=project, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.stdout.count("::test_orders_charged_once") == 1, (args, out.stdout)


@pytest.mark.slow  # a whole scenario run or more: handed out early
def test_an_upgrade_of_a_replaced_service_runs_the_users_code(tmp_path):
    """payment_signals upgrades its service to the bundled version 2; where the user
    replaced the service (--app), the upgrade runs the user's app again, as a new
    deployment, never the harness's own code; a version the user names (--app NAME@2=)
    runs instead; a version the plan never reaches is bad input."""
    user = "payments=tests.data.user_payment_signals:app"
    small = ("--param", "PAYMENTS=40")  # which code the upgrade runs is under test
    out = cli("run", "payment_signals", "--seed", "21", "--report-dir", str(tmp_path / "a"),
              "--app", user, *small)  # fmt: skip
    (run,) = (tmp_path / "a").glob("*-payment_signals-*")
    (upgrade,) = json.loads((run / "run.json").read_text())["upgrades"]
    assert upgrade["app"] == "tests.data.user_payment_signals:app", upgrade
    assert upgrade["source"] == "the user's app again, as a new deployment"
    assert "missed" not in upgrade and upgrade["pinned_at_switch"] >= 1, upgrade  # it switched
    started = (run / "logs" / "payments-v2.log").read_text().splitlines()[0]
    assert "tests.data.user_payment_signals:app" in started, started  # the process it ran
    assert out.returncode in (0, 1), out.stdout  # 1: restate#4566 at times (a known bug)
    v2 = "payments@2=harness.bundled.services.payment_signals_v2:app"
    out = cli("run", "payment_signals", "--seed", "21", "--report-dir", str(tmp_path / "b"),
              "--app", user, "--app", v2, *small)  # fmt: skip
    (run,) = (tmp_path / "b").glob("*-payment_signals-*")
    manifest = json.loads((run / "run.json").read_text())
    (upgrade,) = manifest["upgrades"]
    assert upgrade["app"] == "harness.bundled.services.payment_signals_v2:app"
    assert upgrade["source"] == "the user's version 2 (--app payments@2=...)"
    assert f"--app {v2}" in manifest["reproduce"]
    out = cli("run", "payment_signals", "--seed", "21", "--report-dir", str(tmp_path / "c"),
              "--app", "payments@3=tests.data.user_payment_signals:app")  # fmt: skip
    assert out.returncode == 2, out.stdout
    assert "upgrades 'payments' 1 time(s) in its plan, so it never runs a version 3" in out.stdout
    # a version 2 that does not serve the service: bad input before any fault (Restate
    # discovers it in a dry run, nothing registered)
    out = cli("run", "payment_signals", "--seed", "21", "--report-dir", str(tmp_path / "d"),
              "--app", "payments@2=harness.bundled.services.counter:app")  # fmt: skip
    assert out.returncode == 2, out.stdout
    assert "version 2 does not serve" in out.stdout and "(it serves Counter)" in out.stdout
    (run,) = (tmp_path / "d").glob("*-payment_signals-*")
    assert not (run / "faults.jsonl").exists() or not (run / "faults.jsonl").read_text()


def test_a_contracts_assumptions_come_from_the_adapter_or_param_and_are_named(tmp_path):
    """Issue 36: what a scenario assumes of the service (here the saga's step timeout) is
    declared on its contract: an adapter overrides it, --param over that; run.json records
    its value and source, the run uses it (a lost answer is held 500 ms past it), and the
    verdict that rests on it names it. A value of the wrong type is bad input."""
    from harness.contracts import assumptions, make
    from scenarios.scenario_sagas import TripsContract

    (tmp_path / "slow_trips.py").write_text(
        "from harness.bundled.scenarios.scenario_sagas import TripsContract\n\n\n"
        "class SlowTrips(TripsContract):\n    step_timeout_ms = 1200\n"
    )
    out = cli(
        "run", "sagas", "--seed", "3", "--report-dir", str(tmp_path / "r"), "--no-html",
        "--param", "BOOKINGS=30", "--adapter", "trips=slow_trips:SlowTrips",
        "--app-path", str(tmp_path),
    )  # fmt: skip
    (run,) = (tmp_path / "r").glob("*-sagas-*")
    manifest = json.loads((run / "run.json").read_text())
    (step,) = manifest["assumptions"]["trips"].values()
    assert step["value"] == 1200 and step["source"].endswith("slow_trips.SlowTrips"), step
    knobs = json.loads((run / "ledger.json").read_text())["knobs"]
    assert 1700 in {k["latency_ms"] for k in knobs}, knobs  # lost answers (300: windows)
    results = json.loads((run / "results.json").read_text())
    saga = next(v for v in results["verdicts"] if v["id"] == "saga")
    assert saga["assumes"]["step_timeout_ms"]["value"] == 1200, out.stdout[-2000:]
    given = make(None, TripsContract, given={"step_timeout_ms": 900})
    assert (
        assumptions(given, TripsContract, {"step_timeout_ms": 900})["step_timeout_ms"]["source"]
        == "--param"
    )
    bad = cli("run", "sagas", "--report-dir", str(tmp_path / "bad"),
              "--param", "step_timeout_ms=soon")  # fmt: skip
    assert bad.returncode == 2, bad.stdout
    assert "sagas's step_timeout_ms is a int (now 1500)" in bad.stdout + bad.stderr
    assert not (tmp_path / "bad").exists()


NO_KEY = "the charge API was called without an idempotency key"
KEY_PER_ATTEMPT = "each charge call carried another idempotency key"
JS_HTTP = "cmd:node examples/payments-js/payments-http.mjs"
TS_HTTP = "cmd:examples/payments-ts/node_modules/.bin/tsx examples/payments-ts/payments.ts"


@pytest.mark.slow  # a scenario run each: handed out early
@pytest.mark.parametrize(
    "app, code, cause",
    [
        ("tests.data.payments_http:app", 0, None),
        ("tests.data.payments_http:app_without_key", 1, NO_KEY),
        ("tests.data.payments_http:app_random_key", 1, KEY_PER_ATTEMPT),
        (f"{JS_HTTP} stable", 0, None),
        (f"{JS_HTTP} none", 1, NO_KEY),
        (f"{JS_HTTP} random", 1, KEY_PER_ATTEMPT),
        (f"{TS_HTTP} stable", 0, None),
        (f"{TS_HTTP} none", 1, NO_KEY),
        (f"{TS_HTTP} random", 1, KEY_PER_ATTEMPT),
    ],
    ids=[f"{lang}{kind}" for lang in ("py", "js", "ts") for kind in ("", "-no-key", "-random-key")],
)
def test_a_service_calling_its_providers_own_http_api_is_judged_unchanged(
    tmp_path, app, code, cause, depth
):
    """Issue 29: a service that calls a Stripe-like API (Python with httpx, JavaScript and
    TypeScript with fetch) with an Idempotency-Key header, its base URL from its own configuration
    ($STRIPE_API_BASE), is tested by the payments scenario as it is: its adapter routes the
    provider's API onto the world and names the variable the harness points at the world.
    Without a key, or with a new key per attempt, its double charges are flagged, with
    that cause. By default the TypeScript pass and one broken variant in each language;
    all nine with --long."""
    default = ("tests.data.payments_http:app_random_key", f"{TS_HTTP} stable",
               f"{TS_HTTP} none")  # fmt: skip
    if app not in default and not depth["long"]:
        pytest.skip("runs with --long (the nightly): the same kind runs in the other language")
    if app.startswith("cmd:"):
        if not (shutil.which("node") and shutil.which("npm")):
            pytest.skip("JavaScript service skipped: node and npm not on PATH")
        project = "payments-ts" if app.startswith(TS_HTTP) else "payments-js"
        provision_node_project(REPO / "examples" / project)
    out = cli("run", "payments", "--seed", "5", "--no-html", "--report-dir", str(tmp_path),
              "--app", f"payments={app}",
              "--adapter", "payments=tests.data.payments_http_adapter:HttpPayments",
              "--param", "PAYMENTS=120")  # fmt: skip
    assert out.returncode == code, out.stdout[-3000:]
    (results,) = tmp_path.glob("*/results.json")
    verdicts = {v["id"]: v for v in json.loads(results.read_text())["verdicts"]}
    charge = verdicts["exactly_once:charge"]
    assert charge["valid"] is (cause is None), charge["summary"]
    if cause:
        assert charge["cause"].startswith(cause), charge["cause"]
    else:
        assert charge["stats"]["effective_charges"] > 100  # every charge reached the world
        run = json.loads(next(tmp_path.glob("*/run.json")).read_text())
        assert [r["path"] for r in run["world_routes"]] == ["/v1/charges", "/v1/refunds"]
