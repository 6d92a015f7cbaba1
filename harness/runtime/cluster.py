"""restate-server as a 3-node cluster of local processes (`--topology cluster3`).

Metadata and log are replicated (replication 2), so the cluster stays available when any
one node is down. Every node has its own allocated 127.0.0.1 ports and base dir; the ingress
and admin of any node answer. The run's targets are the nodes, by name (n1, n2, n3); a plan's
"server" fault goes to one node chosen by the seed (harness/plan.py prepare), one node at a time.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from harness.errors import HarnessError
from harness.runtime.admin import AdminClient
from harness.runtime.config import RetryPolicy, ServerConfig
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import REGISTRY, ProcessRegistry
from harness.runtime.server import RestateServer

NODES = 3
REPLICATION = 2  # one node may be down
# 1 makes the cluster's negative control: nothing is replicated and n1 is the only node that
# runs partitions (the worker role), so a kill of n1 is an outage until it is back
# (tests/test_cluster.py)
REPLICATION_ENV = "RESTATE_CHAOS_REPLICATION"
NOT_A_WORKER = ("http-ingress", "admin", "log-server", "metadata-server")


def replication() -> int:
    return int(os.environ.get(REPLICATION_ENV, REPLICATION))


class Cluster:
    """Three restate-server nodes; only the first provisions the cluster."""

    def __init__(
        self,
        binary: Path,
        ports: PortAllocator,
        root: Path,
        partitions: int = 4,
        retry: RetryPolicy | None = None,
        registry: ProcessRegistry = REGISTRY,
    ) -> None:
        triples = [(ports.allocate(), ports.allocate(), ports.allocate()) for _ in range(NODES)]
        copies = replication()
        peers = tuple(fabric for _, _, fabric in triples)
        self.nodes = [
            RestateServer(
                binary,
                ServerConfig(
                    root / f"n{i}" / "data",
                    ingress,
                    admin,
                    fabric,
                    node_name=f"n{i}",
                    partitions=partitions,
                    retry=retry or RetryPolicy(),
                    peers=peers,
                    auto_provision=i == 1,
                    replication=copies,
                    roles=NOT_A_WORKER if copies == 1 and i > 1 else (),
                ),
                root / f"n{i}",
                registry=registry,
                name=f"n{i}",
            )
            for i, (ingress, admin, fabric) in enumerate(triples, start=1)
        ]
        self.config = self.nodes[0].config

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    @property
    def targets(self) -> dict[str, RestateServer]:
        """The fault targets: its nodes, by name (a plan's "server" is mapped to one)."""
        return {n.name: n for n in self.nodes}

    @property
    def roles(self) -> dict[str, str]:
        """A cluster survives one node down: node faults run one at a time."""
        return dict.fromkeys(self.names, "node")

    @property
    def admin(self) -> AdminClient:
        """The admin API of the first node that is up (any node's answers for all)."""
        return next((n.admin for n in self.nodes if n.running()), self.nodes[0].admin)

    @property
    def ingress_url(self) -> str:
        return self.nodes[0].ingress_url

    @property
    def ingress_urls(self) -> list[str]:
        return [n.ingress_url for n in self.nodes]

    async def start(self, timeout: float = 30.0) -> float:
        """Start every node together (they wait for each other); seconds until all ready."""
        t0 = time.monotonic()
        await asyncio.gather(*(n.start(timeout) for n in self.nodes))
        return time.monotonic() - t0

    async def wait_known(self, services: list[str], timeout: float = 10.0) -> float:
        """Wait (bounded) until every node that is up knows `services`: a registration is
        made on one node and reaches the others' ingresses a moment later (one answered
        404 "service not found" for a service registered 0.1 s before). Seconds waited."""
        t0 = time.monotonic()
        for node in self.nodes:
            while node.ready and time.monotonic() - t0 < timeout:
                try:
                    known = {s["name"] for s in (await node.admin.services())}
                except (HarnessError, aiohttp.ClientError, OSError):
                    known = set()
                if set(services) <= known:
                    break
                await asyncio.sleep(0.05)
        return time.monotonic() - t0

    async def serves_without(self, name: str) -> bool:
        """Whether every partition's leader answers through a node other than `name` (the
        cluster failed over from it, harness/runtime/serving.py)."""
        others = [n for n in self.nodes if n.name != name and n.ready]
        return bool(others) and await others[0].serves_every_partition()

    @property
    def ready(self) -> bool:
        """Every node up and serving (what RestateServer.ready says of one node)."""
        return all(n.ready for n in self.nodes)

    def serving(self, i: int) -> bool:
        """Node i is up and ready: what a load balancer's health check would say."""
        return self.nodes[i].ready

    def running(self) -> bool:
        return all(n.running() for n in self.nodes)

    async def claim(self, uri: str) -> None:
        """The run's own cluster: any deployment may be registered (force)."""

    def registered_by_run(self, deployment: str) -> None:
        """The run's own cluster goes with the run: nothing to remove after."""

    def describe(self) -> dict[str, object]:
        """What run.json records of it (`server_config`: its first node's)."""
        return self.config.to_record()

    def to_record(self) -> list[dict[str, object]]:
        return [n.config.to_record() for n in self.nodes]

    async def close(self) -> None:
        for n in self.nodes:
            await n.close()
