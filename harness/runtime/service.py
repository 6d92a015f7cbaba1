"""A Restate service (an ASGI app given as module:app) as one supervised process."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from harness.runtime.admin import AdminClient
from harness.runtime.ports import HOST, is_listening
from harness.runtime.processes import REGISTRY, ProcessRegistry, Supervised


class ServiceProcess(Supervised):
    """Restarts keep the port: an invocation is pinned to the deployment it started on."""

    def __init__(
        self,
        app: str,
        port: int,
        log_dir: Path,
        name: str | None = None,
        registry: ProcessRegistry = REGISTRY,
        env: dict[str, str] | None = None,
    ):
        self.app = app
        self.port = port
        self.name = name or "service-" + app.partition(":")[0].rsplit(".", 1)[-1]
        self.registry = registry
        self.log_path = log_dir / f"{self.name}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}

    @property
    def uri(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ports(self) -> list[int]:
        return [self.port]

    async def start(self, timeout: float = 30.0) -> float:
        """Start and wait until the port accepts connections. Returns seconds taken."""
        t0 = time.monotonic()
        self._spawn(
            [sys.executable, "-m", "harness.runtime.serve", self.app, str(self.port)],
            self.log_path,
            env=self.env,
            cwd=Path.cwd(),
        )
        while not is_listening(self.port):
            self._check_alive(t0, timeout, f"listening on {self.port}")
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    async def register(self, admin: AdminClient) -> list[str]:
        """Register (force) with restate; returns the names of the services it exposes."""
        deployment = await admin.register(self.uri)
        return [s["name"] for s in deployment.get("services", [])]
