"""A Restate service under test, given in one of three forms (`--app NAME=SPEC`):

- `module:app`: a Python ASGI app, served by hypercorn in one process we own;
- `cmd:COMMAND`: any language, a command line run by /bin/sh in its own process group with
  the port in `$PORT` (and the world's URL in `$CHAOS_WORLD_URL`); it runs with the user's
  environment and interpreter, not the harness's. Killed, paused and restarted by its group,
  so the children of `npm start` or a shell wrapper go with it;
- `docker:IMAGE` (with `--backend docker`): any image serving a Restate endpoint on `$PORT`,
  run as a container on the host network (harness/runtime/containers.py);
- `url:http://127.0.0.1:PORT`: a deployment the user runs. It is registered, but it is not
  ours to kill: faults aimed at it are skipped and reported as such.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from harness.errors import HarnessError
from harness.runtime.admin import AdminClient
from harness.runtime.ports import HOST, is_listening
from harness.runtime.processes import REGISTRY, START_CAP_S, ProcessRegistry, Supervised

PYTHON_APP = re.compile(r"[\w.]+:[\w.]+")
LOOPBACK = {"127.0.0.1", "localhost"}


def check_spec(spec: str) -> str:
    """Validate an app spec; returns its kind (python, cmd, url). Raises HarnessError."""
    if spec.startswith("cmd:"):
        if not spec[4:].strip():
            raise HarnessError("cmd: needs a command line, e.g. cmd:node dist/payments.js")
        return "cmd"
    if spec.startswith("docker:"):
        if not spec[7:].strip():
            raise HarnessError("docker: needs an image, e.g. docker:myorg/payments:1.2")
        return "docker"
    if spec.startswith("url:"):
        url = urlparse(spec[4:])
        if url.scheme not in ("http", "https") or url.hostname not in LOOPBACK:
            raise HarnessError(
                f"{spec!r}: a deployment URL must be http(s) on this machine "
                "(127.0.0.1 or localhost): the harness never sends traffic off the machine"
            )
        return "url"
    if PYTHON_APP.fullmatch(spec):
        return "python"
    raise HarnessError(
        f"app {spec!r}: expected module:attribute (a Python app, e.g. myapp.svc:app), "
        "cmd:COMMAND (any language, port in $PORT), docker:IMAGE (with --backend docker; "
        "port in $PORT) or url:http://127.0.0.1:PORT"
    )


def handlers_of(deployment: dict[str, Any]) -> dict[str, list[str]]:
    """{Restate service: [handler names]} of a registration answer."""
    return {
        s["name"]: [h["name"] for h in s.get("handlers", [])]
        for s in deployment.get("services", [])
    }


def handler_kinds(deployment: dict[str, Any]) -> dict[str, str]:
    """{"Service/handler": its kind as Restate discovered it (Exclusive, Shared, Workflow)}
    of the handlers of virtual objects and workflows in a registration answer."""
    return {
        f"{s['name']}/{h['name']}": h["ty"]
        for s in deployment.get("services", [])
        for h in s.get("handlers", [])
        if h.get("ty")
    }


class Deployment:
    """What the server is given: a service endpoint at `uri`, registered as a deployment."""

    uri: str
    handlers: dict[str, list[str]]
    kinds: dict[str, str]  # "Service/handler" -> Exclusive, Shared or Workflow
    deployment_id: str | None = None

    async def register(self, admin: AdminClient, uri: str | None = None) -> list[str]:
        """Register (force) with restate, at `uri` (its own, or the proxy's link to it);
        returns the names of the services it exposes (their handlers in `self.handlers`,
        the deployment's id in `self.deployment_id`)."""
        deployment = await admin.register(uri or self.uri)
        self.handlers, self.deployment_id = handlers_of(deployment), deployment.get("id")
        self.kinds = handler_kinds(deployment)
        return list(self.handlers)


class ServiceAddress(Deployment):
    """A service on one of the run's ports (a process or a container alike)."""

    port: int

    @property
    def uri(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ports(self) -> list[int]:
        return [self.port]


class ServiceProcess(ServiceAddress, Supervised):
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
        self.handlers: dict[str, list[str]] = {}  # after register()
        self.kinds: dict[str, str] = {}
        self.kind = check_spec(app)
        if self.kind == "url":
            raise HarnessError(f"{app}: a URL deployment is a RemoteService, not a process")
        self.port = port
        self.name = name or "service-" + app.partition(":")[0].rsplit(".", 1)[-1]
        self.registry = registry
        self.log_path = log_dir / f"{self.name}.log"
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(port), **(env or {})}

    @property
    def argv(self) -> list[str]:
        if self.kind == "cmd":
            return ["/bin/sh", "-c", self.app[4:]]
        return [sys.executable, "-m", "harness.runtime.serve", self.app, str(self.port)]

    async def start(self, timeout: float = START_CAP_S) -> float:
        """Start and wait until the port accepts connections, judged on evidence
        (StartWatch: exited, hung, or past the cap `timeout`). Returns seconds taken."""
        self._spawn(self.argv, self.log_path, env=self.env, cwd=Path.cwd())

        async def listening() -> bool:
            return is_listening(self.port)

        return await self._await_ready(listening, f"listening on {self.port}", timeout)


class RemoteService(Deployment):
    """A deployment the user runs (`url:...`): registered, never faulted."""

    faultable = False

    def __init__(self, app: str, name: str):
        check_spec(app)
        self.app = app
        self.name = name
        self.uri = app[4:].rstrip("/")
        self.proc = None
        self.handlers: dict[str, list[str]] = {}
        self.kinds: dict[str, str] = {}

    async def start(self, timeout: float = 10.0) -> float:
        url = urlparse(self.uri)
        port = url.port or (443 if url.scheme == "https" else 80)
        t0 = time.monotonic()
        while not is_listening(port, "127.0.0.1"):
            if time.monotonic() - t0 > timeout:
                raise HarnessError(
                    f"service {self.name!r}: nothing answers at {self.uri} (url: deployments "
                    "are run by you: start it before the harness)"
                )
            await asyncio.sleep(0.1)
        return time.monotonic() - t0

    def running(self) -> bool:
        return True
