"""The Docker backend: restate-server and services as containers, faulted through the
Docker API (docker-py): kill is `docker kill` (SIGKILL), stop is `docker stop`, pause is
the cgroup freezer (`docker pause`), start starts the same container again (its file
system, and the server's data directory mounted from the run folder, survive).

Containers run on the host network and bind 127.0.0.1 on the run's allocated ports, so the
harness, the world and the containers reach each other as processes do. Images are built
locally (.ci/docker-setup): `restate-chaos/restate-server` and `restate-chaos/python` (the
harness and the bundled services installed); nothing is pulled.

Every container carries the labels `restate-chaos.owner` (the harness' mark, as processes
carry it in their environment) and `restate-chaos.run`; the watchdog removes them when the
harness dies, and the next session removes those of a dead harness (reaper.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

from harness.errors import HarnessError, ProcessFailed, StartTooSlow
from harness.runtime.admin import AdminClient
from harness.runtime.config import ServerConfig
from harness.runtime.ports import is_listening, wait_closed
from harness.runtime.processes import REGISTRY, START_CAP_S
from harness.runtime.server import ServerAddresses
from harness.runtime.service import ServiceAddress

SERVER_IMAGE = "restate-chaos/restate-server:latest"
PYTHON_IMAGE = "restate-chaos/python:latest"
OWNER_LABEL, RUN_LABEL = "restate-chaos.owner", "restate-chaos.run"


def engine() -> Any:
    """A docker-py client for $DOCKER_HOST (or the default socket); a clear error if none
    answers or the images are missing."""
    try:
        import docker
    except ImportError as e:  # pragma: no cover: docker is a dependency
        raise HarnessError("--backend docker needs the docker package (pip install docker)") from e
    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as e:
        raise HarnessError(
            f"--backend docker: no Docker engine answers at "
            f"{os.environ.get('DOCKER_HOST', 'the default socket')} ({type(e).__name__}). "
            "Start one and export its DOCKER_HOST (on these machines: .ci/docker-setup)"
        ) from None
    for image in (SERVER_IMAGE, PYTHON_IMAGE):
        try:
            client.images.get(image)
        except Exception:
            raise HarnessError(
                f"--backend docker: image {image} is missing; build it with .ci/docker-setup "
                "(it builds the images locally, nothing is pulled)"
            ) from None
    return client


class Container:
    """One container as a supervised component: the interface of processes.Supervised
    (start, kill, stop, pause, resume, running, destroy) over the Docker API."""

    name: str
    log_path: Path
    ports: list[int]  # from ServerAddresses or ServiceAddress
    proc: Any = None  # the docker container once created (Supervised's `proc`)
    starts: int = 0
    last_start: dict[str, float] = {}  # as Supervised's

    def __init__(self, client: Any, run_id: str, image: str, **create: Any):
        self.client = client
        self.image = image
        self.create = create
        self.labels = {OWNER_LABEL: REGISTRY.watchdog.mark, RUN_LABEL: run_id}

    async def ready(self) -> bool:
        raise NotImplementedError

    def running(self) -> bool:
        if self.proc is None:
            return False
        with contextlib.suppress(Exception):
            self.proc.reload()
            return self.proc.status in ("running", "paused")
        return False

    async def start(self, timeout: float = START_CAP_S) -> float:
        """Create (first time) or start again, then wait until ready: an exit is
        evidence (ProcessFailed); a container not ready after `timeout` is a slow start
        (StartTooSlow), not a broken one."""
        t0 = time.monotonic()
        if self.proc is None:
            self.proc = await asyncio.to_thread(
                self.client.containers.create,
                self.image,
                network_mode="host",
                labels=self.labels,
                detach=True,
                **self.create,
            )
            REGISTRY.watchdog.watch_container(self.proc.id)
        await asyncio.to_thread(self.proc.start)
        self.starts += 1
        while not await self.ready():
            self.proc.reload()
            if self.proc.status == "exited":
                code = self.proc.attrs["State"]["ExitCode"]
                raise ProcessFailed(
                    f"{self.name} (container {self.proc.short_id}) exited with code {code} "
                    f"during start:\n{self.logs()[-3000:]}"
                )
            if time.monotonic() - t0 > timeout:
                raise StartTooSlow(
                    f"{self.name} (container {self.proc.short_id}) did not start in "
                    f"{timeout:.0f}s:\n{self.logs()[-3000:]}"
                )
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    async def kill(self) -> None:
        """docker kill (SIGKILL to the container's processes), then the ports are closed."""
        if self.running():
            with contextlib.suppress(Exception):  # it may have died by itself meanwhile
                await asyncio.to_thread(self.proc.kill)
        await wait_closed(self.ports, self.name)

    async def stop(self, grace: float = 15.0) -> bool:
        """docker stop: SIGTERM, then SIGKILL after `grace`. True if it exited by itself."""
        graceful = True
        if self.running():
            await asyncio.to_thread(self.proc.stop, timeout=int(grace))
            self.proc.reload()
            graceful = self.proc.attrs["State"]["ExitCode"] != 137  # 128 + SIGKILL
        await wait_closed(self.ports, self.name)
        return graceful

    def pause(self) -> None:
        assert self.proc is not None, f"{self.name} was never started"
        self.proc.pause()

    def resume(self) -> None:
        """Unpause, if paused (heal calls it on every component)."""
        if self.proc is not None:
            self.proc.reload()
            if self.proc.status == "paused":
                self.proc.unpause()

    async def restart(self, graceful: bool = False) -> float:
        await (self.stop() if graceful else self.kill())
        return await self.start()

    def logs(self) -> str:
        if self.proc is None:
            return ""
        with contextlib.suppress(Exception):
            return self.proc.logs().decode(errors="replace")
        return ""

    def destroy(self) -> None:
        """Save its log to the run folder and remove the container (teardown)."""
        if self.proc is None:
            return
        with contextlib.suppress(OSError):
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.log_path.write_text(self.logs())
        with contextlib.suppress(Exception):
            self.proc.remove(force=True)
        REGISTRY.watchdog.forget_container(self.proc.id)


class ContainerServer(ServerAddresses, Container):
    """restate-server in a container: the run's node folder is mounted at the same path, so
    the config file, the data and the log stay in the run folder across kills."""

    def __init__(self, client: Any, run_id: str, config: ServerConfig, node_dir: Path,
                 name: str = "server"):  # fmt: skip
        node_dir.mkdir(parents=True, exist_ok=True)
        self.config, self.node_dir, self.name = config, node_dir, name
        self.config_path = node_dir / "restate.toml"
        self.config_path.write_text(config.to_toml())
        self.log_path = node_dir / "restate-server.log"
        self.admin = AdminClient(self.admin_url)
        tmp = config.base_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        super().__init__(
            client,
            run_id,
            SERVER_IMAGE,
            command=["--config-file", str(self.config_path), "--no-logo"],
            environment={"TMPDIR": str(tmp)},
            volumes={str(node_dir): {"bind": str(node_dir), "mode": "rw"}},
        )

    async def ready(self) -> bool:
        """Serving: health and SQL answer, and every partition's leader
        (harness/runtime/serving.py)."""
        return await self.answers_sql() and await self.serves_every_partition()

    async def close(self) -> None:
        await self.admin.close()


class ContainerService(ServiceAddress, Container):
    """A service in a container: a Python `module:app` served by the harness's runner in
    the Python image (the working directory and --app-path folders mounted at their own
    paths, so the user's package imports as it does for a process), or `docker:IMAGE`, any
    image that serves a Restate endpoint on $PORT."""

    def __init__(self, client: Any, run_id: str, app: str, port: int, log_dir: Path,
                 name: str, env: dict[str, str], paths: list[Path] = ()):  # fmt: skip  # type: ignore[assignment]
        self.app, self.port, self.name = app, port, name
        self.log_path = log_dir / f"{name}.log"
        self.handlers: dict[str, list[str]] = {}
        self.kinds: dict[str, str] = {}
        environment = {"PORT": str(port), "PYTHONUNBUFFERED": "1", **env}
        if app.startswith("docker:"):
            super().__init__(client, run_id, app[len("docker:") :], environment=environment)
            return
        cwd = Path.cwd()
        # a bundled app comes from the image's harness; the working directory is mounted
        # for the user's own packages (in the harness's repo it would shadow the image's)
        user = not app.startswith("harness.")
        mounts = {str(p): {"bind": str(p), "mode": "ro"} for p in {*[cwd] * user, *paths}}
        if paths:
            environment["PYTHONPATH"] = os.pathsep.join(map(str, paths))
        super().__init__(
            client,
            run_id,
            PYTHON_IMAGE,
            command=["python", "-m", "harness.runtime.serve", app, str(port)],
            environment=environment,
            volumes=mounts,
            working_dir=str(cwd) if user else "/",
        )

    async def ready(self) -> bool:
        return is_listening(self.port)
