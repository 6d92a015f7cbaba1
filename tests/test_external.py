"""A run aimed at a restate-server it did not start (--server-admin, --server-ingress):
the services' faults land, the server's own are skipped with the reason, the run refuses
to replace another's service or to read another's leftovers, and leaves the server as it
found it (harness/runtime/external.py)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import aiohttp

from bench.topology import counter_topology
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


async def count(server, sql: str) -> int:
    return (await server.admin.query(sql))[0]["n"]


async def test_a_run_against_a_server_it_did_not_start(tmp_path):
    reg, alloc = ProcessRegistry(), PortAllocator()
    server, foreign = counter_topology(tmp_path / "ext", reg, alloc)
    try:
        await server.start()  # started here, by the test: not by the run
        target = ("--server-admin", server.admin_url, "--server-ingress", server.ingress_url)

        def run(scenario: str, reports: str) -> subprocess.CompletedProcess[str]:
            args = (scenario, "--seed", "41", "--no-html", "--report-dir", str(tmp_path / reports))
            return cli("run", *args, *target)

        out = await asyncio.to_thread(run, "payments", "r1")
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
        (run_dir,) = (tmp_path / "r1").glob("*/run.json")
        manifest = json.loads(run_dir.read_text())
        assert manifest["topology"] == "external" and manifest["versions"]["restate_server"]
        faults = [json.loads(line) for line in (run_dir.parent / "faults.jsonl").open()]
        started = [f for f in faults if f["type"] == "fault-start"]
        (skipped,) = [f for f in faults if f["type"] == "fault-skipped"]
        assert (skipped["kind"], skipped["target"]) == ("kill", "server")
        assert "not the harness's" in skipped["reason"]
        assert len(started) >= 4 and all(f["landed"] for f in started)
        assert {f["target"] for f in started} == {"payments"}
        # the server as the run found it: no deployment, invocation or state of the run's
        assert (await server.admin._request("GET", "/deployments"))["deployments"] == []
        assert await count(server, "SELECT count(*) AS n FROM sys_invocation") == 0
        assert await count(server, "SELECT count(*) AS n FROM state") == 0

        # smoke's minimum of faults needs the server's kill: unknown, saying why
        out = await asyncio.to_thread(run, "smoke", "r2")
        assert out.returncode == 4, out.stdout[-3000:]
        (results,) = (tmp_path / "r2").glob("*/results.json")
        (vacuity,) = [
            v for v in json.loads(results.read_text())["verdicts"] if v["id"] == "vacuity"
        ]
        assert "not made: kill of server" in vacuity["summary"]

        # another's Counter on the server: the run does not replace it
        await foreign.start()
        await foreign.register(server.admin)
        out = await asyncio.to_thread(run, "smoke", "r3")
        assert out.returncode == 2 and "already has Counter" in out.stdout + out.stderr, out
        assert len((await server.admin._request("GET", "/deployments"))["deployments"]) == 1
        # ... nor read what another left: state kept after its deployment went
        async with (
            aiohttp.ClientSession() as s,
            s.post(f"{server.ingress_url}/Counter/k/add", json=1) as r,
        ):
            assert r.status == 200
        await server.admin.remove_deployment(foreign.deployment_id)
        out = await asyncio.to_thread(run, "smoke", "r4")
        assert out.returncode == 2 and "from before this run" in out.stdout + out.stderr, out
    finally:
        reg.kill_all()
        await server.close()
        alloc.release_all()


def test_the_server_options_go_together():
    out = cli("run", "smoke", "--server-admin", "http://127.0.0.1:9")
    assert out.returncode == 2 and "go together" in out.stdout + out.stderr, out
    out = cli("run", "smoke", "--server-admin", "127.0.0.1:9070", "--server-ingress", "x")
    assert out.returncode == 2 and "must be an http:// or https:// URL" in out.stderr, out
