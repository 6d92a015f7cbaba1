"""The 3-node cluster topology: real restate-server nodes, a node killed under load, and
the negative control of its recovery check (a cluster that does not replicate)."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from harness.runtime import binary
from harness.runtime.cluster import REPLICATION_ENV, Cluster
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry
from harness.runtime.service import ServiceProcess
from harness.workload.client import IngressClient, Request
from harness.workload.history import History
from tests.test_own_services import cli


@pytest.mark.slow  # a whole scenario run or more: handed out early
async def test_a_node_down_leaves_the_cluster_serving_through_any_ingress(tmp_path):
    reg, alloc = ProcessRegistry(), PortAllocator()
    cluster = Cluster(binary.resolve(), alloc, tmp_path / "restate", registry=reg)
    counter = ServiceProcess(
        "harness.bundled.services.counter:app", alloc.allocate(), tmp_path, registry=reg
    )
    try:
        assert await cluster.start() < 30
        await counter.start()
        assert await counter.register(cluster.admin) == ["Counter"]
        history = History(tmp_path / "h.jsonl")
        async with IngressClient(cluster.ingress_urls, history, timeout=20) as client:
            add = Request("Counter", "add", key="c", body=1)
            for worker in range(3):  # each worker's own node
                assert (await client.call(add, worker=worker)).type == "ok"
            await cluster.nodes[0].kill()  # the provisioning node, whose admin we used
            assert cluster.admin is cluster.nodes[1].admin  # the admin of a node that is up
            for w in range(3):  # worker 0's node is down: its requests go to the next node
                idem = dataclasses.replace(add, idem=f"after-kill-{w}")
                outs = [await client.call(idem, worker=w) for _ in range(2)]
                # a keep-alive connection to the killed node may take the first attempt
                assert "ok" in [o.type for o in outs], outs
            await cluster.nodes[0].start()
            read = Request("Counter", "get", key="c")
            assert (await client.call(read, worker=0)).value == 6  # idempotency keys held
        history.close()
        rows = await cluster.admin.query("SELECT count(*) AS n FROM sys_invocation")
        assert rows[0]["n"] >= 6
    finally:
        await cluster.close()
        reg.kill_all()
        alloc.release_all()
        assert reg.leaks() == []


def node_kill_run(tmp_path, replication: int, downtime: float) -> dict:
    """smoke on the cluster, n1 killed for `downtime` s; unreplicated, it is the only node
    that runs partitions."""
    plan = tmp_path / f"plan{replication}.json"
    kill = {"kind": "kill", "target": "n1", "after_ops": 100, "downtime": downtime}
    plan.write_text(json.dumps([kill]))
    reports = tmp_path / f"r{replication}"
    env = {**os.environ, REPLICATION_ENV: str(replication)}
    out = cli(
        "run", "smoke", "--seed", "1", "--topology", "cluster3", "--plan", str(plan),
        "--report-dir", str(reports), env=env,
    )  # fmt: skip
    (results,) = reports.glob("*/results.json")
    results = json.loads(results.read_text())
    verdicts = {v["id"]: v for v in results["verdicts"]}
    # smoke asks for 10 s attempts and 10 s of retries; on a cluster an attempt is cut at
    # 5 s and retries go on past Restate's own failover allowance (harness/plan.py client_limits)
    driver = results["stats"]["driver"]
    assert (driver["timeout"], driver["retry_for"]) == (5.0, 40.0), driver
    (end,) = [json.loads(x) for x in (next(reports.glob("*/faults.jsonl"))).read_text().splitlines()
              if '"fault-end"' in x]  # fmt: skip
    return {"code": out.returncode, "verdicts": verdicts, "out": out.stdout[-3000:], "end": end}


@pytest.mark.slow
@pytest.mark.parametrize("replication", [2, 1], ids=["replicated", "unreplicated"])
def test_a_replicated_cluster_rides_out_a_node_kill_and_an_unreplicated_one_does_not(
    tmp_path, replication
):
    """A node kill: with replication 2 the other nodes serve its partitions while it is
    down (the failover the run measures through a live node) and every request in flight is
    answered within the measured bound; unreplicated (the control: replication 1, n1 the
    only worker), n1 down past Restate's own 30 s allowance and never failed over from is an
    outage. Two tests, so that two workers run them at once."""
    run = node_kill_run(tmp_path, replication, 12.0 if replication == 2 else 35.0)
    nodes = run["verdicts"]["nodes"]
    if replication == 2:
        assert nodes["valid"] is True, run["out"]
        assert run["end"]["failover_s"] is not None and run["end"]["failover_s"] < 12
        assert run["code"] == 0, run["out"]
    else:
        assert nodes["valid"] is False, run["out"]
        assert run["end"]["failover_s"] is None
        (kill,) = nodes["counterexamples"]
        assert "never served its partitions" in kill["problem"]
        assert run["code"] == 1
