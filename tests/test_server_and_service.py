"""The runtime against the real restate-server and a real service process."""

import asyncio
import socket
import time

import aiohttp
import pytest

from bench.topology import counter_topology
from harness.errors import PortInUse, ProcessFailed
from harness.runtime.config import ServerConfig
from harness.runtime.ports import PortAllocator, is_listening
from harness.runtime.processes import ProcessRegistry
from harness.runtime.server import RestateServer
from harness.runtime.service import ServiceProcess
from harness.workload.client import IngressClient, Request
from harness.workload.driver import Driver
from harness.workload.history import History, read


@pytest.fixture
async def topo(tmp_path):
    reg = ProcessRegistry()
    alloc = PortAllocator()
    server, service = counter_topology(tmp_path / "n1", reg, alloc)
    yield server, service, reg, alloc
    reg.kill_all()
    await server.close()
    alloc.release_all()
    assert reg.leaks() == []


async def add(server, key, idem):
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.ingress_url}/Counter/{key}/add", json=1, headers={"idempotency-key": idem}
        ) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


async def test_lifecycle_kill_restart_keeps_state(topo):
    server, service, _, _ = topo
    assert await server.start() < 10
    await service.start()
    assert await service.register(server.admin) == ["Counter"]
    assert await add(server, "k", "i1") == 1
    assert await add(server, "k", "i1") == 1  # deduplicated by idempotency key

    await service.kill()
    assert not is_listening(service.port)
    await service.start()  # same port: the deployment stays valid
    await server.kill()
    assert not any(is_listening(p) for p in server.ports)
    await server.start()  # same base dir: state and idempotency table survive
    assert await add(server, "k", "i1") == 1
    assert await add(server, "k", "i2") == 2
    rows = await server.admin.query("SELECT value_utf8 FROM state WHERE service_key = 'k'")
    assert rows == [{"value_utf8": "2"}]
    assert await server.admin.wait_quiescent(["Counter"], timeout=10) < 10
    # the server's scratch dirs live in its base dir, not in the machine's /tmp
    assert list((server.config.base_dir / "tmp").glob("invoker-*"))


async def test_a_service_the_ingress_does_not_know_yet_is_retried_until_registered(topo, tmp_path):
    """The ingress's 404 for an unknown service created no invocation (seen for a registered
    service while a deployment was registered on a server just restarted): the driver
    retries it like a refused connection, within its retry budget."""
    server, service, _, _ = topo
    await server.start()
    await service.start()
    history = History(tmp_path / "h.jsonl")
    async with IngressClient(server.ingress_url, history, timeout=5) as client:
        driver = Driver(client, concurrency=1, retry_for=10)
        sent = asyncio.create_task(
            driver.run([Request("Counter", "add", key="k", body=1, idem="i")])
        )
        while driver.stats.attempts < 2 and not sent.done():  # refused: not registered
            await asyncio.sleep(0.05)
        await service.register(server.admin)
        (outcome,) = await sent
    history.close()
    errors = [r["error"] for r in read(tmp_path / "h.jsonl") if r["type"] == "fail"]
    assert outcome.type == "ok" and outcome.value == 1
    assert errors and all(e.startswith("HTTP 404") for e in errors)


async def test_pause_blocks_requests_until_resume(topo):
    server, service, _, _ = topo
    await server.start()
    await service.start()
    await service.register(server.admin)
    service.pause()
    t0 = time.monotonic()
    import asyncio

    task = asyncio.create_task(add(server, "p", "p1"))
    await asyncio.sleep(1.0)
    assert not task.done()
    service.resume()
    assert await asyncio.wait_for(task, 15) == 1
    assert time.monotonic() - t0 >= 1.0


async def test_graceful_stop_of_server_and_service(topo):
    server, service, reg, _ = topo
    await server.start()
    await service.start()
    await service.register(server.admin)
    await add(server, "g", "g1")  # the SDK installs its own SIGTERM hook on first request
    assert await service.stop() is True
    assert await server.stop() is True
    assert reg.leaks() == []


async def test_port_in_use_is_a_clear_error_and_starts_nothing(topo):
    server, _, reg, _ = topo
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", server.config.admin_port))
        s.listen()
        with pytest.raises(PortInUse, match=f"port {server.config.admin_port} .*in use by pid"):
            await server.start()
    assert reg.procs == []


async def test_bad_app_fails_with_the_import_error(topo, tmp_path):
    _, service, reg, _ = topo
    bad = ServiceProcess("harness.bundled.services.nope:app", service.port, tmp_path, registry=reg)
    with pytest.raises(
        ProcessFailed, match=r"cannot import module 'harness\.bundled\.services\.nope'"
    ):
        await bad.start()
    assert reg.leaks() == []


async def test_server_that_dies_at_start_reports_its_log(tmp_path):
    reg = ProcessRegistry()
    alloc = PortAllocator()
    fake = tmp_path / "restate-server"
    fake.write_text("#!/bin/sh\necho 'fatal: cannot open base dir' >&2\nexit 3\n")
    fake.chmod(0o755)
    server = RestateServer(
        fake,
        ServerConfig.on_ports(tmp_path / "d", alloc),
        tmp_path,
        registry=reg,
    )
    try:
        with pytest.raises(ProcessFailed, match=r"(?s)exited with code 3.*cannot open base dir"):
            await server.start()
    finally:
        await server.close()
        alloc.release_all()


async def test_quiesce_bound_reports_stuck_invocations(topo, tmp_path):
    """Negative control of liveness: an invocation retrying forever is reported, not waited
    for forever."""
    from harness.checkers.liveness import check_liveness
    from harness.errors import NotQuiescent

    server, _, reg, alloc = topo
    await server.start()
    stuck = ServiceProcess("tests.data.stuck_service:app", alloc.allocate(), tmp_path, registry=reg)
    await stuck.start()
    await stuck.register(server.admin)
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.ingress_url}/Stuck/run/send",
            headers={"idempotency-key": "st-1"},
            skip_auto_headers=("Content-Type",),
        ) as r,
    ):
        assert r.status == 202, await r.text()
    with pytest.raises(NotQuiescent, match=r"(?s)1 invocation.*Stuck.*transient failure"):
        await server.admin.wait_quiescent(["Stuck"], timeout=2)
    verdict = check_liveness(await server.admin.invocations(["Stuck"]))
    assert "retries a failure for ever" in verdict.counterexamples[0]["problem"]
    assert verdict.valid is False
    assert verdict.counterexamples[0]["idempotency_key"] == "st-1"
    # the admin API ends it: killed, it completes (with a failure) and the run is quiet
    await server.admin.kill(verdict.counterexamples[0]["id"])
    assert await server.admin.wait_quiescent(["Stuck"], timeout=10, settle=0.5) < 10
    (row,) = await server.admin.invocations(["Stuck"])
    assert row["status"] == "completed"


async def test_work_due_after_the_run_is_not_waited_for_nor_stuck(topo, tmp_path):
    """Issue 36: a sleep of a day and a call sent with a day's delay are due after the run:
    the quiesce does not wait for them, Restate's rows say when they are due, and liveness
    leaves them out; a sleep of 3 s is waited for (it fires within the wait), and so is a
    step of 10 s in its first attempt (work under way, though its journal does not grow)."""
    from harness.checkers.liveness import check_liveness

    server, _, reg, alloc = topo
    await server.start()
    svc = ServiceProcess("tests.data.sleeper_service:app", alloc.allocate(), tmp_path, registry=reg)
    await svc.start()
    await svc.register(server.admin)
    day = 86400
    async with aiohttp.ClientSession() as s:
        for path, seconds in (("nap/send", day), ("later", day), ("nap/send", 3),
                              ("work/send", 10)):  # fmt: skip
            async with s.post(f"{server.ingress_url}/Sleeper/{path}", json=seconds) as r:
                assert r.status in (200, 202), await r.text()
    t0 = time.time()
    waited = await server.admin.wait_quiescent(["Sleeper"], timeout=2, settle=0.5)
    due = await server.admin.waiting_until(["Sleeper"])
    assert 10 <= waited < 25  # the nap and the step were waited for; the day-long ones not
    assert len(due) == 2 and all(day - 60 < t - t0 < day + 60 for t in due.values()), due
    rows = await server.admin.invocations(["Sleeper"])
    for r in rows:
        if r["id"] in due:
            r["waiting_until"] = due[r["id"]]
    v = check_liveness(rows, observed_until=time.time())
    assert v.valid is True and v.stats["due_after_run"] == 2, v.summary
    assert check_liveness(rows).valid is False  # without the horizon: two never completed


async def test_command_service_is_supervised_by_its_process_group(tmp_path):
    """A cmd: service behind a forking wrapper (as `npm start` is): kill and pause reach
    the grandchild that holds the port, and a restart serves on the same port again."""
    import psutil

    reg, alloc = ProcessRegistry(), PortAllocator()
    wrapper = "cmd:sh -c 'python3 -m http.server $PORT --bind 127.0.0.1; echo unreachable'"
    svc = ServiceProcess(wrapper, alloc.allocate(), tmp_path, name="wrapped", registry=reg)
    try:
        await svc.start()
        members = svc.proc.group_members()
        assert len(members) >= 2  # the shell, its child shell, python
        svc.pause()
        deadline = time.monotonic() + 2  # the signal is delivered asynchronously
        while time.monotonic() < deadline and not all(
            psutil.Process(p).status() == psutil.STATUS_STOPPED for p in members
        ):
            time.sleep(0.01)
        assert all(psutil.Process(p).status() == psutil.STATUS_STOPPED for p in members)
        svc.resume()
        await svc.kill()
        assert svc.proc.group_members() == [] and not is_listening(svc.port)
        await svc.start()
        assert is_listening(svc.port)
    finally:
        reg.kill_all()
        alloc.release_all()
    assert reg.leaks() == []


def test_service_specs_are_checked():
    from harness.errors import HarnessError
    from harness.runtime.service import check_spec

    assert check_spec("pkg.mod:app") == "python"
    assert check_spec("cmd:node dist/payments.js") == "cmd"
    assert check_spec("url:http://127.0.0.1:9080") == "url"
    for bad in ("pkg.mod", "cmd:", "url:http://10.0.0.1:9080", "url:ftp://127.0.0.1"):
        with pytest.raises(HarnessError):
            check_spec(bad)


def test_service_and_world_processes_stay_lean():
    """A service process (the serve runner, every bundled service) and the world import
    neither the report layer (matplotlib, jinja2) nor the run layer (psutil, pytest): that
    cost would be paid again at every restart after a kill."""
    import subprocess
    import sys

    from harness.bundled import scenario_dir

    services = sorted(
        f"harness.bundled.services.{'broken.' if p.parent.name == 'broken' else ''}{p.stem}"
        for p in (scenario_dir().parent / "services").rglob("*.py")
        if p.stem != "__init__"
    )
    code = (
        "import sys, importlib\n"
        f"for m in {['harness.runtime.serve', 'harness.world.app', *services]!r}:\n"
        "    importlib.import_module(m)\n"
        "heavy = {'matplotlib', 'jinja2', 'psutil', 'pytest', 'harness.run', 'harness.report'}\n"
        "print(sorted(m for m in sys.modules if m in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert len(services) > 20
    assert out.stdout.strip() == "[]"


async def test_preflight_judges_a_failing_handler_not_a_slow_one(topo, tmp_path, monkeypatch):
    """The preflight's probe waits PROBE_TIMEOUT for an answer; a handler slower than that
    is no evidence (Restate shows its first attempt running, no failure), a handler whose
    attempts fail is (bad input names the failure), also when each attempt takes longer
    than the probe waits (it is followed while attempts come)."""
    from harness import preflight

    monkeypatch.setattr(preflight, "PROBE_TIMEOUT", 1.0)
    server, _, reg, alloc = topo
    await server.start()
    for app in ("tests.data.slow_counter:app", "tests.data.stuck_service:app"):
        svc = ServiceProcess(app, alloc.allocate(), tmp_path, registry=reg)
        await svc.start()
        await svc.register(server.admin)
    slow = Request("Counter", "add", key="k", body=3.0, idem="slow-1")
    failing = Request("Stuck", "run", idem="stuck-1")
    slow_failing = Request("Stuck", "slow_run", idem="stuck-2")
    history = History(tmp_path / "h.jsonl")
    async with IngressClient([server.ingress_url], history, timeout=10) as client:
        assert await preflight.probe(client, server.admin, [slow]) == []
        (problem,) = await preflight.probe(client, server.admin, [failing])
        (slow_problem,) = await preflight.probe(client, server.admin, [slow_failing])
    history.close()
    assert "Stuck/run cannot take the scenario's request" in problem
    assert "transient failure that never heals" in problem
    assert "Stuck/slow_run cannot take" in slow_problem and "slow failure" in slow_problem
