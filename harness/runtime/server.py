"""restate-server as a supervised process: start, stop, kill, pause, resume, restart."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness.runtime.admin import AdminClient
from harness.runtime.config import ServerConfig
from harness.runtime.ports import HOST
from harness.runtime.processes import REGISTRY, START_CAP_S, ProcessRegistry, Supervised
from harness.runtime.serving import partitions_serving, probe_ids


class ServerAddresses:
    """Where a server answers, from its config, and whether it does (a process or a
    container alike)."""

    config: ServerConfig
    admin: AdminClient

    async def answers_sql(self) -> bool:
        """Health and a query answer: the process is up (its partitions may not be led)."""
        if not await self.admin.health():
            return False
        try:
            await self.admin.query_once("SELECT 1")
        except Exception:  # partition stores still opening
            return False
        return True

    async def serves_every_partition(self) -> bool:
        """Every partition's leader answers through this server's ingress (serving.py)."""
        ids = probe_ids(self.config.partitions)
        return await partitions_serving(self.admin.session, self.ingress_url, ids) == len(ids)

    @property
    def ingress_url(self) -> str:
        return f"http://{HOST}:{self.config.ingress_port}"

    @property
    def ingress_urls(self) -> list[str]:
        return [self.ingress_url]

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.config.admin_port}"

    @property
    def ports(self) -> list[int]:
        return [self.config.ingress_port, self.config.admin_port, self.config.fabric_port]

    # what a one-node server says as a topology (harness/runtime/topology.py Server): it is
    # the only fault target, "server"; it has no health checks to choose an ingress by and
    # no failover to measure; a registration is known to its ingress at once
    serving = None
    serves_without = None

    @property
    def targets(self) -> dict[str, Supervised]:
        return {"server": self}  # type: ignore[dict-item]

    @property
    def roles(self) -> dict[str, str]:
        return {}

    async def wait_known(self, services: list[str]) -> float:
        return 0.0

    async def claim(self, uri: str) -> None:
        """The run's own server: any deployment may be registered (force)."""

    def registered_by_run(self, deployment: str) -> None:
        """The run's own server goes with the run: nothing to remove after."""

    def describe(self) -> dict[str, object]:
        """What run.json records of it (`server_config`)."""
        return self.config.to_record()


class RestateServer(ServerAddresses, Supervised):
    """One restate-server node. A restart reuses its base dir (state, journal, timers)."""

    def __init__(
        self,
        binary: Path,
        config: ServerConfig,
        node_dir: Path,
        registry: ProcessRegistry = REGISTRY,
        name: str = "restate-server",
    ):
        self.binary = binary
        self.config = config
        self.node_dir = node_dir
        self.registry = registry
        self.name = name
        self.admin = AdminClient(self.admin_url)
        self.config_path = node_dir / "restate.toml"
        self.log_path = node_dir / "restate-server.log"

    ready = False  # serving; a load balancer sends it nothing until then

    async def start(self, timeout: float = START_CAP_S) -> float:
        """Start and wait until it serves: health and SQL answer (the process is up:
        `last_start["process_ready_s"]`), then every partition's leader answers
        (harness/runtime/serving.py). Judged on evidence (StartWatch), `timeout` capping a
        start still making progress. Returns the seconds to serving."""
        self.ready = False
        t0 = time.monotonic()
        self.node_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config.to_toml())
        tmp = self.config.base_dir / "tmp"  # the server's scratch dirs (invoker-*), not /tmp's
        tmp.mkdir(parents=True, exist_ok=True)
        self._spawn(
            [str(self.binary), "--config-file", str(self.config_path), "--no-logo"],
            self.log_path,
            env={**os.environ, "TMPDIR": str(tmp)},
        )
        process_ready = await self._await_ready(self.answers_sql, "answering SQL", timeout)
        await self._await_ready(self.serves_every_partition, "serving every partition", timeout)
        self.last_start = {"process_ready_s": round(process_ready, 3)}
        self.ready = True
        return time.monotonic() - t0

    async def kill(self) -> None:
        self.ready = False
        await super().kill()

    async def stop(self, grace: float = 15.0) -> bool:
        self.ready = False
        return await super().stop(grace)

    def pause(self) -> None:
        self.ready = False
        super().pause()

    def resume(self) -> None:
        super().resume()
        self.ready = True

    async def close(self) -> None:
        await self.admin.close()
