"""What a run runs: restate-server (one node, a 3-node cluster or a container), the world,
the services with the proxy's links to them, and Kafka. Started, watched, healed and torn
down here; the phases and the nemesis act on it.

The server variants share one interface (`Server`): what the plan's faults can name
(`targets`), their roles, the client's health checks (`serving`), the failover probe
(`serves_without`) and the wait for a registration to reach every ingress (`wait_known`).
Which variant runs is decided once, in `start_server`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

import aiohttp

from harness.errors import BadInput, HarnessError, ProcessFailed
from harness.network.link import Link, ProxyProcess
from harness.rundir import RunDir
from harness.runtime import binary, kafka
from harness.runtime.admin import AdminClient, AdminError
from harness.runtime.cluster import Cluster, replication
from harness.runtime.config import RetryPolicy, ServerConfig
from harness.runtime.kafka import KafkaBroker
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import START_CAP_S, Supervised, interrupted
from harness.runtime.service import RemoteService, ServiceProcess, check_spec
from harness.versions import RESTATE_SERVER_VERSION
from harness.world.client import ENV_URL, WorldClient

if TYPE_CHECKING:
    from harness.runtime.containers import ContainerService

# a service's start is judged on evidence (harness/runtime/processes.py StartWatch): it
# exited, raised, hung (no CPU time) or failed discovery is bad input; one still busy after
# this cap (START_CAP_S, 300 s) is a crashed run, never bad input
START_TIMEOUT_ENV = "RESTATE_CHAOS_START_TIMEOUT"
WATCH_EVERY = 0.2  # seconds between checks that the world process is alive


def start_cap() -> float:
    """The cap on a start still making progress (START_CAP_S, or the environment's)."""
    given = os.environ.get(START_TIMEOUT_ENV)
    try:
        return float(given) if given else START_CAP_S
    except ValueError:
        raise BadInput(f"{START_TIMEOUT_ENV}={given!r}: give the seconds as a number") from None


class Server(Protocol):
    """restate-server as the run sees it: RestateServer, ContainerServer or Cluster."""

    ingress_url: str  # the first ingress (the world's webhooks go there)
    ready: bool  # serving (a container's is a probe: it is never upgraded, nor drained)
    # a cluster's health check per ingress (the client picks a serving node), else None
    serving: Callable[[int], bool] | None
    # a cluster: whether every partition is served without the node named (failover)
    serves_without: Callable[[str], Awaitable[bool]] | None

    @property
    def admin(self) -> AdminClient: ...
    @property
    def ingress_urls(self) -> list[str]: ...
    @property
    def targets(self) -> dict[str, Supervised]: ...
    @property
    def roles(self) -> dict[str, str]: ...
    async def start(self, timeout: float = ...) -> float: ...
    async def wait_known(self, services: list[str]) -> float: ...
    # before and after registering a deployment: a server the run does not own refuses
    # another's service, and removes the run's deployments when the run ends
    async def claim(self, uri: str) -> None: ...
    def registered_by_run(self, deployment: str) -> None: ...
    def describe(self) -> dict[str, Any]: ...  # run.json's server_config
    async def close(self) -> None: ...


class Topology:
    """The run's processes (or containers), its ports and its network paths."""

    def __init__(
        self,
        run_id: str,
        rundir: RunDir,
        timings: dict[str, float],
        backend: str = "process",
        topology: str = "single",
        restate_bin: str | None = None,
        app_paths: list[Any] | None = None,
        external: tuple[str, str] | None = None,
    ):
        self.run_id, self.rundir, self.timings = run_id, rundir, timings
        self.backend, self.topology, self.restate_bin = backend, topology, restate_bin
        self.app_paths = app_paths or []
        # (admin URL, ingress URL) of a server the run does not own (--server-admin)
        self.external = external
        self.ports = PortAllocator()
        self.server: Server | None = None
        self.services: dict[str, ServiceProcess | ContainerService] = {}
        self.remote: dict[str, RemoteService] = {}  # url: deployments, never faulted
        self.world_process: ServiceProcess | None = None
        self.world: WorldClient | None = None
        # the network between the server and the services: every service is registered
        # through a link of this proxy, the target of the network fault kinds
        self.proxy: ProxyProcess | None = None
        self.links: dict[str, Link] = {}
        self.retired: list[Supervised] = []  # versions an upgrade replaced
        self.kafka: KafkaBroker | None = None
        # service name -> the variables its contract names as its provider's base URL
        self.world_env: dict[str, tuple[str, ...]] = {}
        self._docker: Any = None

    @property
    def docker(self) -> Any:
        """The Docker engine (--backend docker), connected at first use."""
        if self._docker is None:
            from harness.runtime.containers import engine

            self._docker = engine()
        return self._docker

    @property
    def logs(self) -> Any:
        return self.rundir.logs

    # -- starting ----------------------------------------------------------------------
    async def start_server(self, retry: RetryPolicy | None = None, partitions: int = 4) -> Server:
        """restate-server: one node, or the 3-node cluster of `--topology cluster3`."""
        cluster = self.topology == "cluster3"
        if cluster and self.backend == "docker":
            raise BadInput("--topology cluster3 runs nodes as processes: not with --backend docker")
        root = self.rundir.path / "restate"
        retry = retry or RetryPolicy()
        versions = self.rundir.manifest["versions"]
        server: Server
        if self.external is not None:  # a server the run does not own: connect only
            from harness.runtime.external import ExternalServer

            if cluster or self.backend == "docker":
                raise BadInput(
                    "--server-admin aims the run at a server it does not start: not with "
                    "--topology cluster3 or --backend docker (they say how to start one)"
                )
            external = ExternalServer(*self.external)
            self.server = external
            self.timings["server_start"] = await external.start()
            versions["restate_server"] = external.version  # as its admin API says
            self.rundir.record(server_config=external.describe())
            return external
        if self.backend == "docker":
            from harness.runtime.containers import SERVER_IMAGE, ContainerServer

            config = ServerConfig.on_ports(
                root / "n1" / "data", self.ports, partitions=partitions, retry=retry
            )
            server = ContainerServer(self.docker, self.run_id, config, root / "n1")
            self.rundir.manifest["restate_image"] = SERVER_IMAGE
        else:
            path = binary.resolve(self.restate_bin)
            if cluster:
                server = Cluster(path, self.ports, root, partitions, retry)
                nodes = server.to_record()
                self.rundir.manifest["cluster"] = {"nodes": nodes, "replication": replication()}
            else:
                from harness.runtime.server import RestateServer

                config = ServerConfig.on_ports(
                    root / "n1" / "data", self.ports, partitions=partitions, retry=retry
                )
                server = RestateServer(path, config, root / "n1", name="server")
            versions["restate_server"] = binary.binary_version(path)
            self.rundir.manifest["restate_binary"] = str(path)
        versions["restate_server_pinned"] = RESTATE_SERVER_VERSION
        self.rundir.record(server_config=server.describe())
        self.server = server
        self.timings["server_start"] = await server.start()
        return server

    async def start_world(self, seed: int, routes: list[dict[str, Any]]) -> WorldClient:
        """The simulated external systems, one process with its SQLite ledger in the run
        dir. Not a fault target: it is the ground truth. Start it before the services."""
        self.world_process = ServiceProcess(
            "harness.world.app:app",
            self.ports.allocate(),
            self.logs,
            name="world",
            env={
                "CHAOS_WORLD_DB": str(self.rundir.path / "ledger.sqlite"),
                "CHAOS_WORLD_SEED": str(seed),
            },
        )
        self.timings["world_start"] = await self.world_process.start()
        self.world = WorldClient(self.world_process.uri)
        if routes:  # services that call their provider's own API, routed by the world
            await self.world.routes(routes)
            self.rundir.manifest["world_routes"] = routes
        return self.world

    async def start_service(
        self, name: str, app: str, world_env: tuple[str, ...] = ()
    ) -> ServiceProcess | ContainerService | RemoteService:
        """Start service `name` from `app` (module:app, cmd:COMMAND, docker:IMAGE or url:URL,
        a deployment the user runs, registered but never faulted) and register it through
        a link of the proxy. `world_env`: variables that get the world's URL."""
        assert self.server is not None, "start_server() first"
        self.world_env[name] = world_env
        kind = check_spec(app)
        t0 = time.monotonic()
        svc: ServiceProcess | ContainerService | RemoteService
        if kind == "url":
            svc = self.remote[name] = RemoteService(app, name)
            await svc.start()
        else:
            env = self.service_env(kind, name)
            port = self.ports.allocate()
            if self.backend == "docker":
                from harness.runtime.containers import ContainerService

                env.pop("PYTHONPATH", None)  # the container gets the --app-path folders
                svc = ContainerService(
                    self.docker, self.run_id, app, port, self.logs, name, env, self.app_paths
                )
            elif kind == "docker":
                raise BadInput(f"service {name!r}: {app} needs --backend docker")
            else:
                svc = ServiceProcess(app, port, self.logs, name=name, env=env)
            self.services[name] = svc
            try:
                await svc.start(timeout=start_cap())
            except ProcessFailed as e:  # evidence the app is wrong: bad input, at once
                raise BadInput(
                    f"service {name!r} ({app}) did not start: {e}\nCheck the app: it must "
                    "serve a Restate endpoint on $PORT (a Python module:app is imported from "
                    "the working directory and --app-path)"
                ) from None
        link = self.links[name] = await self.link(name, svc.uri)
        await self.server.claim(link.uri)
        try:
            registered = await svc.register(self.server.admin, link.uri)
        except AdminError as e:  # it listens, but Restate's discovery of it failed
            raise BadInput(
                f"service {name!r} ({app}) listens on {svc.uri}, but Restate could not "
                f"register it: {e}\nCheck that it serves a Restate endpoint (the SDK's app, "
                "HTTP/2) on $PORT"
            ) from None
        self.server.registered_by_run(svc.deployment_id)
        self.records[name] = {
            "app": app,
            "kind": kind,
            "uri": svc.uri,
            "registered_uri": link.uri,  # through the proxy: network faults act there
            "faultable": kind != "url",
            "backend": "remote" if kind == "url" else self.backend,
            "restate_services": registered,
            "handlers": svc.handlers,
            "handler_kinds": svc.kinds,  # Restate's discovery: Exclusive, Shared, Workflow
            "deployment_id": svc.deployment_id,
        }
        await self.server.wait_known(registered)
        self.timings[f"{name}_start_and_register"] = time.monotonic() - t0
        self.rundir.write()
        return svc

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        """run.json's `services`: each service as registered (app, uri, deployment, ...)."""
        return self.rundir.entry("services", {})

    async def link(self, name: str, uri: str) -> Link:
        """A path from the server to the service at `uri`: a link (named `name`) of the
        run's proxy, started with the first service."""
        if self.proxy is None:
            self.proxy = ProxyProcess(self.ports.allocate(), self.logs)
            self.timings["proxy_start"] = await self.proxy.start()
        url = urlparse(uri)
        return await self.proxy.add(name, self.ports.allocate(), url.port or 80, url.scheme)

    def service_env(self, kind: str, name: str) -> dict[str, str]:
        """What a service process gets besides the harness's environment: the world's URL
        (also in the variables its contract names as its provider's base URL), and the
        --app-path folders for a Python app."""
        env = {ENV_URL: self.world_process.uri} if self.world_process is not None else {}
        if env:
            env |= {var: env[ENV_URL] for var in self.world_env.get(name, ())}
        if self.app_paths and kind == "python":
            paths = [*map(str, self.app_paths), os.environ.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        return env

    async def start_kafka(self) -> KafkaBroker:
        """A Kafka-protocol broker, registered with the server as cluster "chaos"."""
        assert self.server is not None, "start_server() first"
        if self.external is not None:
            raise BadInput(
                "--server-admin: a Kafka scenario adds a cluster to the server's config, "
                "which a run does not do to a server it does not own"
            )
        self.kafka = KafkaBroker(kafka.resolve_broker(), self.ports.allocate(), self.logs)
        self.timings["kafka_start"] = await self.kafka.start()
        await self.server.admin.add_kafka_cluster("chaos", self.kafka.bootstrap)
        return self.kafka

    async def subscribe(self, topic: str, sink: str, partitions: int = 4) -> None:
        """Create `topic` and subscribe `sink` ("Service/handler") to it."""
        assert self.kafka is not None and self.server is not None, "start_kafka() first"
        await self.kafka.create_topic(topic, partitions)
        sub = await self.server.admin.subscribe(
            f"kafka://chaos/{topic}", f"service://{sink}", kafka.SUBSCRIPTION_OPTIONS
        )
        self.rundir.entry("subscriptions", []).append(sub)
        self.rundir.write()

    # -- what the faults and the checks see -------------------------------------------
    @property
    def components(self) -> dict[str, Supervised]:
        """Every process a fault can name: the services, the server's targets, Kafka."""
        out: dict[str, Supervised] = dict(self.services)
        if self.server is not None:
            out.update(self.server.targets)
        if self.kafka is not None:
            out["kafka"] = self.kafka
        return out

    @property
    def restate_services(self) -> list[str]:
        """The Restate services of every deployment this run registered."""
        return sorted({name for s in self.records.values() for name in s["restate_services"]})

    async def restate_unfinished(self) -> list[dict[str, Any]] | None:
        """The run's invocations not completed, each with where it stands (its journal
        size), or None when the server does not answer at once (it is down: a fault)."""
        if self.server is None or not self.restate_services:
            return None
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancel that arrives
            # as the call completes, and the sampler then outlived its run (a CI hang)
            async with asyncio.timeout(1.0):
                return await self.server.admin.unfinished(self.restate_services)
        except (HarnessError, aiohttp.ClientError, TimeoutError, OSError):
            return None

    def check_helpers(self) -> None:
        """Raise if a process the run stands on died: the world (the ground truth) or the
        network proxy (the server's path to the services). After an interrupt, raise that
        instead: SIGTERM's kill_all took them down, and the KeyboardInterrupt its handler
        raised can be lost (raised inside a __del__, Python only warns)."""
        if interrupted():
            raise KeyboardInterrupt("interrupted")
        helpers = [
            (self.world_process, "the world process", "its ledger is the ground truth, so "
             "no verdict is computed from what it recorded"),
            (self.proxy, "the network proxy", "the server lost its path to the services, "
             "which no fault planned"),
        ]  # fmt: skip
        for comp, what, why in helpers:
            if comp is not None and not comp.running():
                proc = comp.proc
                raise HarnessError(
                    f"{what} died (exit code {proc.popen.returncode if proc else '?'}): "
                    f"{why}. Log {comp.log_path}:\n{proc.log_tail() if proc else ''}"
                )

    async def unless_helpers_die(self, work: Awaitable[Any]) -> Any:
        """Await `work`, stopping within WATCH_EVERY seconds if the world or the proxy dies
        or an interrupt went missing."""
        task = asyncio.ensure_future(work)
        while not task.done():
            await asyncio.wait({task}, timeout=WATCH_EVERY)
            try:
                self.check_helpers()
            except (HarnessError, KeyboardInterrupt):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise
        return task.result()

    # -- healing and teardown ----------------------------------------------------------
    async def heal(self) -> None:
        """Every process up and resumed, every path clear."""
        for comp in self.components.values():
            if comp.proc is not None:
                comp.resume()
            if not comp.running():
                await comp.start()
        for link in self.links.values():
            await link.set()
            await link.fail_nth(None)

    async def close(self) -> None:
        """Release what needs the event loop (HTTP sessions)."""
        for part in (self.server, self.world, self.proxy):
            if part is not None:
                await part.close()

    def destroy(self) -> None:
        """Kill every process and container of the run, release its ports. Synchronous:
        it also runs after Ctrl-C, when no event loop is left."""
        for comp in [*self.components.values(), *self.retired, self.world_process, self.proxy]:
            if comp is not None and comp.proc is not None:
                comp.destroy()
        self.ports.release_all()
