"""One scenario run: its directory, seed, processes, history and verdicts.

Phases: start (server, services) -> chaos (drive + nemesis) -> verify (heal, quiesce, final
reads, checks, assert) -> finish (results.json, teardown). finish() always runs, also when a
phase raised; a run directory is complete whether the run passed, failed or crashed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import math
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from harness import manifest
from harness.checkers.data import RunData
from harness.checkers.nodes import FAILOVER_ALLOWANCE
from harness.checkers.verdict import Verdict, combine, evaluate, status_of
from harness.errors import BadInput, HarnessError, NotQuiescent, ProcessFailed
from harness.nemesis.faults import (
    PROCESS_KINDS,
    UPGRADE_ARGS,
    Fault,
    Nemesis,
    effect_window_plan,
    load_plan,
    plan_digest,
    scale_plan,
)
from harness.network.link import Link, ProxyProcess
from harness.preflight import preflight as check_preflight
from harness.runtime import binary, kafka
from harness.runtime.admin import AdminError, MismatchWatch
from harness.runtime.cluster import Cluster, replication
from harness.runtime.config import RetryPolicy, ServerConfig
from harness.runtime.kafka import KafkaBroker
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import START_CAP_S, Supervised, interrupted, shielded
from harness.runtime.server import RestateServer
from harness.runtime.service import RemoteService, ServiceProcess, check_spec, handlers_of
from harness.selfwatch import SelfWatch
from harness.versions import RESTATE_SERVER_VERSION
from harness.workload import history as hist
from harness.workload.client import IngressClient, Outcome, Request
from harness.workload.driver import Driver, Flow
from harness.workload.subset import Subset, key_of
from harness.world.client import ENV_URL, WorldClient

if TYPE_CHECKING:
    from harness.workload.kafka import EventProducer


SETTLE = 2.0  # seconds of unchanged invocation counts when messages may still arrive
# a service's start is judged on evidence (harness/runtime/processes.py StartWatch): it
# exited, raised, hung (no CPU time) or failed discovery is bad input; one still busy after
# this cap (START_CAP_S, 300 s) is a crashed run, never bad input
START_TIMEOUT_ENV = "RESTATE_CHAOS_START_TIMEOUT"
# seconds an upgrade's old version must have had nothing pinned to it before it is stopped
DRAIN_QUIET = 2.0
WATCH_EVERY = 0.2  # seconds between checks that the world process is alive
# Restate's rows are dumped in full up to this many invocations; beyond (a soak), the
# completed ones are slimmed and only unfinished ones keep their journal: 100k
# invocations' journals are 77 MB of JSON and half a GB once loaded
FULL_DUMP_UP_TO = 20_000
# what the verdicts and the report read of a completed invocation: its status (counted)
# and its journal size (the report's journal statistics)
SLIM = ("status", "journal_size")


def slim(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in SLIM if k in row}


@dataclass
class RunOptions:
    seed: int
    report_dir: Path
    restate_bin: str | None = None
    keep_data: bool = False
    drop_data: bool = False  # remove the server's data dir even of a failing run (a shrink's)
    html: bool = True  # render index.html (a shrink's reruns do without: their data is kept)
    # the scenario's services (name -> default implementation), its module's SERVICES
    services: dict[str, str] = field(default_factory=dict)
    apps: dict[str, str] = field(default_factory=dict)  # service name -> the user's override
    # the scenario's contracts (service name -> class), its module's CONTRACTS, and the
    # user's adapters for them (service name -> module:Class, a subclass)
    contracts: dict[str, type] = field(default_factory=dict)
    adapters: dict[str, str] = field(default_factory=dict)
    # folders where Python apps and adapters are imported from, besides the working directory
    app_paths: list[Path] = field(default_factory=list)
    # how to run it again, as data (harness/options.py rerun_config); run.json's `config`,
    # from which its `reproduce` command is made
    rerun: dict[str, Any] | None = None
    description: str = ""  # the scenario's spec in words (its module docstring)
    params: dict[str, Any] = field(default_factory=dict)  # the scenario's parameters
    # values --param gave the contracts' assumptions (harness/contracts.py)
    assumed: dict[str, Any] = field(default_factory=dict)
    scale: int = 1  # workload and faults multiplied by this (--scale)
    duration: float | None = None  # no request starts after this many seconds (--duration)
    # where the server and the services run: "process" (default) or "docker" (containers,
    # faulted through the Docker API; harness/runtime/containers.py)
    backend: str = "process"
    # restate-server as one node ("single") or a 3-node cluster ("cluster3", processes only;
    # harness/runtime/cluster.py)
    topology: str = "single"
    load: int = 0  # cores kept busy for the session (--load): recorded, not run by the Run
    # an explicit fault plan (--plan FILE: a JSON list of faults, or a run's run.json) that
    # replaces the scenario's seeded one
    plan_file: Path | None = None
    # a subset of the workload (--subset FILE: keys and/or item positions to keep)
    subset_file: Path | None = None
    # live progress during the chaos phase: called with a status line (final=True at the end)
    progress: Callable[[str, bool], None] | None = None


CLUSTER_ATTEMPT_S = 5.0  # on a cluster, one attempt waits at most this long (see drive)
MAX_RECORDED_KEYS = 10_000  # a soak's workload record names its keys up to this many


def workload_record(
    workload: list[Any],
    sent: list[Any],
    plan: list[Fault],
    explicit: bool,
    positions: list[int] | None,
) -> dict[str, Any]:
    """What the history says of the workload before it is sent: how many items the seed
    generated and how many are sent, its business keys in order of first use (what a
    shrink cuts), the positions a subset kept, and the fault plan's size."""
    keys = list(dict.fromkeys(k for k in map(key_of, workload) if k is not None))
    out: dict[str, Any] = {"items": len(workload), "kept": len(sent), "faults": len(plan)}
    out["explicit_plan"] = explicit
    if len(keys) <= MAX_RECORDED_KEYS:
        out["keys"] = keys
    if positions is not None:
        out["positions"] = positions
    return out


def start_cap() -> float:
    """The cap on a start still making progress (START_CAP_S, or the environment's)."""
    given = os.environ.get(START_TIMEOUT_ENV)
    try:
        return float(given) if given else START_CAP_S
    except ValueError:
        raise BadInput(f"{START_TIMEOUT_ENV}={given!r}: give the seconds as a number") from None


class Run:
    def __init__(self, scenario: str, options: RunOptions):
        self.scenario = scenario
        self.options = options
        self.seed = options.seed
        # separate streams: editing the workload does not move the faults, and back
        self.rng = random.Random(f"{options.seed}:workload")
        self.fault_rng = random.Random(f"{options.seed}:faults")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.id = f"{stamp}-{scenario}-s{options.seed}-{random.SystemRandom().randrange(16**4):04x}"
        self.dir = options.report_dir / self.id
        self.dir.mkdir(parents=True)
        self.ports = PortAllocator()
        self.history = hist.History(self.dir / "history.jsonl")
        self.server: Any = None  # RestateServer, or ContainerServer with --backend docker
        self.services: dict[str, ServiceProcess] = {}
        self.remote: dict[str, RemoteService] = {}  # url: deployments, never faulted
        self.world_process: ServiceProcess | None = None
        self.world: WorldClient | None = None
        # the network between the server and the services: every service is registered
        # through a link of this proxy, the target of the network fault kinds
        self.proxy: ProxyProcess | None = None
        self.links: dict[str, Link] = {}
        self.retired: list[ServiceProcess] = []  # versions an upgrade replaced
        self._drains: list[asyncio.Task[None]] = []  # old versions waiting to be stopped
        self.kafka: KafkaBroker | None = None
        self.verdicts: list[Verdict] = []
        self.plan: list[Fault] = []
        self.timings: dict[str, float] = {}
        self.started_names: list[str] = []  # service names, in the order started
        # service name -> its contract, made and recorded once (chaos.contract)
        self.contracts: dict[str, Any] = {}
        self.stats: dict[str, Any] = {}
        self.started = time.time()
        self._finished = False
        self.asserted = False  # assert_held() ran: a failing test is a verdict, not a crash
        self.manifest = manifest.base_manifest(scenario, self.seed, options.rerun)
        self.manifest.update(
            run_id=self.id,
            status="running",
            started=self.started,
            description=options.description,
            params=options.params,
            scale=options.scale,
            duration_limit=options.duration,  # --duration ("duration" is the run's own)
            backend=options.backend,
            topology=options.topology,
            load={"busy_cores": options.load},
        )
        self._write_manifest()
        self.selfwatch = SelfWatch(self.history)  # started by the fixture, in the run's loop
        self._docker: Any = None

    # -- topology --------------------------------------------------------------------------
    async def start_server(
        self, retry: RetryPolicy | None = None, partitions: int = 4
    ) -> RestateServer | Cluster:
        """restate-server: one node, or the 3-node cluster of `--topology cluster3`."""
        cluster = self.options.topology == "cluster3"
        if cluster and self.options.backend == "docker":
            raise BadInput("--topology cluster3 runs nodes as processes: not with --backend docker")
        node_dir = self.dir / "restate" / "n1"
        retry = retry or RetryPolicy()
        if self.options.backend == "docker":
            from harness.runtime.containers import SERVER_IMAGE, ContainerServer

            config = ServerConfig.on_ports(
                node_dir / "data", self.ports, partitions=partitions, retry=retry
            )
            self.server = ContainerServer(self.docker, self.id, config, node_dir)
            self.manifest["restate_image"] = SERVER_IMAGE
        else:
            path = binary.resolve(self.options.restate_bin)
            if cluster:
                self.server = Cluster(path, self.ports, self.dir / "restate", partitions, retry)
                nodes = self.server.to_record()
                self.manifest["cluster"] = {"nodes": nodes, "replication": replication()}
            else:
                config = ServerConfig.on_ports(
                    node_dir / "data", self.ports, partitions=partitions, retry=retry
                )
                self.server = RestateServer(path, config, node_dir, name="server")
            self.manifest["versions"]["restate_server"] = binary.binary_version(path)
            self.manifest["restate_binary"] = str(path)
        self.manifest["versions"]["restate_server_pinned"] = RESTATE_SERVER_VERSION
        self.manifest["server_config"] = self.server.config.to_record()
        self._write_manifest()
        self.timings["server_start"] = await self.server.start()
        return self.server

    async def start_world(self) -> WorldClient:
        """The simulated external systems, one process with its SQLite ledger in the run
        dir. Not a fault target: it is the ground truth. Start it before the services."""
        self.world_process = ServiceProcess(
            "harness.world.app:app",
            self.ports.allocate(),
            self.dir / "logs",
            name="world",
            env={
                "CHAOS_WORLD_DB": str(self.dir / "ledger.sqlite"),
                "CHAOS_WORLD_SEED": str(self.seed),
            },
        )
        self.timings["world_start"] = await self.world_process.start()
        self.world = WorldClient(self.world_process.uri)
        routes = [r for name in self.options.contracts for r in self.contract(name).ROUTES]
        if routes:  # services that call their provider's own API, routed by the world
            await self.world.routes(routes)
            self.manifest["world_routes"] = routes
        return self.world

    async def start_service(
        self, name: str, app: str | None = None
    ) -> ServiceProcess | RemoteService:
        """Start service `name` and register it: `app`, else the scenario's SERVICES[name];
        `--app NAME=SPEC` replaces it by the user's implementation: a Python module:app,
        cmd:COMMAND (any language, port in $PORT) or url:URL (a deployment the user runs,
        registered but never faulted)."""
        assert self.server is not None, "start_server() first"
        app = self.options.apps.get(name) or app or self.options.services.get(name)
        if app is None:
            raise HarnessError(
                f"service {name!r} has no implementation: pass app= or declare it in the "
                "scenario module's SERVICES = {name: 'module:app'}"
            )
        self.started_names.append(name)
        kind = check_spec(app)
        t0 = time.monotonic()
        svc: ServiceProcess | RemoteService
        if kind == "url":
            svc = self.remote[name] = RemoteService(app, name)
            await svc.start()
        else:
            env = self._service_env(kind, name)
            port = self.ports.allocate()
            if self.options.backend == "docker":
                from harness.runtime.containers import ContainerService

                env.pop("PYTHONPATH", None)  # the container gets the --app-path folders
                svc = ContainerService(
                    self.docker, self.id, app, port, self.dir / "logs", name, env,
                    self.options.app_paths,
                )  # fmt: skip
            elif kind == "docker":
                raise BadInput(f"service {name!r}: {app} needs --backend docker")
            else:
                svc = ServiceProcess(app, port, self.dir / "logs", name=name, env=env)
            self.services[name] = svc
            try:
                await svc.start(timeout=start_cap())
            except ProcessFailed as e:  # evidence the app is wrong: bad input, at once
                raise BadInput(
                    f"service {name!r} ({app}) did not start: {e}\nCheck the app: it must "
                    "serve a Restate endpoint on $PORT (a Python module:app is imported from "
                    "the working directory and --app-path)"
                ) from None
        link = self.links[name] = await self._link(name, svc.uri)
        try:
            registered = await svc.register(self.server.admin, link.uri)
        except AdminError as e:  # it listens, but Restate's discovery of it failed
            raise BadInput(
                f"service {name!r} ({app}) listens on {svc.uri}, but Restate could not "
                f"register it: {e}\nCheck that it serves a Restate endpoint (the SDK's app, "
                "HTTP/2) on $PORT"
            ) from None
        self.manifest.setdefault("services", {})[name] = {
            "app": app,
            "kind": kind,
            "uri": svc.uri,
            "registered_uri": link.uri,  # through the proxy: network faults act there
            "faultable": kind != "url",
            "backend": "remote" if kind == "url" else self.options.backend,
            "restate_services": registered,
            "handlers": svc.handlers,
            "handler_kinds": svc.kinds,  # Restate's discovery: Exclusive, Shared, Workflow
            "deployment_id": svc.deployment_id,
        }
        if isinstance(self.server, Cluster):
            await self.server.wait_known(self.manifest["services"][name]["restate_services"])
        self.timings[f"{name}_start_and_register"] = time.monotonic() - t0
        self._write_manifest()
        return svc

    async def _link(self, name: str, uri: str) -> Link:
        """A path from the server to the service at `uri`: a link (named `name`) of the
        run's proxy, started with the first service."""
        if self.proxy is None:
            self.proxy = ProxyProcess(self.ports.allocate(), self.dir / "logs")
            self.timings["proxy_start"] = await self.proxy.start()
        url = urlparse(uri)
        return await self.proxy.add(name, self.ports.allocate(), url.port or 80, url.scheme)

    def _service_env(self, kind: str, name: str | None = None) -> dict[str, str]:
        """What a service process gets besides the harness's environment: the world's URL
        (also in the variables its contract names as its provider's base URL), and the
        --app-path folders for a Python app."""
        env = {ENV_URL: self.world_process.uri} if self.world_process is not None else {}
        if env and name in self.options.contracts:
            env |= {var: env[ENV_URL] for var in self.contract(name).WORLD_URL_ENV}
        if self.options.app_paths and kind == "python":
            paths = [*map(str, self.options.app_paths), os.environ.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
        return env

    async def upgrade(
        self, name: str, args: dict[str, Any], until: asyncio.Event | None = None
    ) -> tuple[dict[str, Any], ServiceProcess, Link]:
        """The fault kind `upgrade`: version N+1 of service `name` (`args["app"]`, else the
        same app) started on a new port and registered through a new link while version N's
        invocations are in flight; version N is stopped once none is pinned to it (at most
        `drain_s` seconds later, in the background: the service's next faults act on the
        new version at once). With `in_place` (the unsafe way, a negative control):
        version N is killed at once and the new one takes its endpoint, re-registered with
        force, so the invocations pinned there replay on the new code. Aimed at work, not
        at the clock: the switch waits until version N has an invocation in flight (pinned
        to it, not completed), however slow the machine; if none came before `until` (the
        workload's end) the upgrade is missed, nothing is switched, and the answer says so
        (`missed`). Recorded in run.json ("upgrades"), which the finding `upgrades` reads."""
        if self.options.backend == "docker" or name not in self.services:
            raise BadInput(f"upgrade {name!r}: only a service run as a process can be upgraded")
        args = {**UPGRADE_ARGS, **args}
        old = self.services[name]
        record = self.manifest["services"][name]
        version = 2 + sum(u["service"] == name for u in self.manifest.get("upgrades", []))
        app, source = self._next_version(name, version, args["app"], old.app)
        missed = {
            "service": name, "version": version, "app": app, "source": source,
            "in_place": args["in_place"],
            "missed": "no invocation of the old version was in flight before the workload "
            "ended: nothing was switched",
        }  # fmt: skip
        t0 = time.monotonic()
        waited = None
        if args["in_place"]:  # its invocations must be under way when it is replaced
            waited = await self._until_busy(record["deployment_id"], until)
            if waited is None:
                return missed, old, self.links[name]
            await old.kill()
        port = old.port if args["in_place"] else self.ports.allocate()
        new = ServiceProcess(
            app,
            port,
            self.dir / "logs",
            name=f"{name}-v{version}",
            env=self._service_env(old.kind, name),
        )
        await new.start(timeout=start_cap())
        link = self.links[name]
        if not args["in_place"]:
            link = await self._link(f"{name}-v{version}", new.uri)
            waited = await self._until_busy(record["deployment_id"], until)
            if waited is None:  # the new version never took over: stopped, unrecorded
                await new.stop()
                return missed, old, self.links[name]
        # the server may be down (a fault of its own): registration waits for it, bounded
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((aiohttp.ClientError, OSError, HarnessError)),
            stop=stop_after_delay(30),
            wait=wait_fixed(0.1),
            reraise=True,
        ):
            with attempt:
                switch = time.time()
                await new.register(self.server.admin, link.uri)
        if isinstance(self.server, Cluster):
            await self.server.wait_known(list(new.handlers))
        pinned = await self.server.admin.pinned(record["deployment_id"])
        self.retired.append(old)
        self.services[name], self.links[name] = new, link
        done = {
            "service": name, "version": version, "app": app, "source": source,
            "in_place": args["in_place"], "from": record["deployment_id"],
            "to": new.deployment_id, "switch_wall": switch,
            "pinned_at_switch": pinned, "waited_for_work_s": round(waited or 0.0, 3),
            "ready_after": round(time.monotonic() - t0, 3),
        }  # fmt: skip
        self.manifest.setdefault("upgrades", []).append(done)
        record.update(app=app, uri=new.uri, registered_uri=link.uri)
        record["deployment_id"] = new.deployment_id
        self._write_manifest()
        if not args["in_place"]:  # in the background: the service's next faults go on
            self._drains.append(asyncio.create_task(self._drain(old, done, args["drain_s"])))
        return done, new, link

    async def _check_versions(self) -> None:
        """Before any fault: each version the user named (`--app NAME@N=SPEC`) starts and
        serves the Restate services its current version registered (Restate discovers it
        in a dry run: nothing is registered), else bad input naming what it serves."""
        for n, app in self.options.apps.items():
            name, _, version = n.partition("@")
            if not version or name not in self.services:
                continue
            svc = ServiceProcess(
                app, self.ports.allocate(), self.dir / "logs", name=f"{name}-v{version}-check",
                env=self._service_env(check_spec(app), name),
            )  # fmt: skip
            try:
                await svc.start(timeout=start_cap())
                found = handlers_of(await self.server.admin.register(svc.uri, dry_run=True))
            except (ProcessFailed, AdminError) as e:
                raise BadInput(
                    f"--app {n}={app}: version {version} cannot be deployed: {e}"
                ) from None
            finally:
                svc.destroy()
            current = self.services[name].handlers
            missing = sorted(set(current) - set(found))
            if missing:
                served = ", ".join(found) or "nothing"
                raise BadInput(
                    f"--app {n}={app}: version {version} does not serve "
                    f"{', '.join(missing)}, which {name!r} serves now (it serves {served})"
                )

    def _next_version(
        self, name: str, version: int, planned: str | None, current: str
    ) -> tuple[str, str]:
        """Which code version `version` of service `name` runs, and why: the user's own
        (`--app NAME@N=SPEC`); else, where the user replaced the service (`--app NAME=`),
        the user's app again, as a new deployment: never the harness's own code in place
        of theirs; else the scenario's planned next version (`planned`), else the same."""
        given = self.options.apps.get(f"{name}@{version}")
        if given is not None:
            return given, f"the user's version {version} (--app {name}@{version}=...)"
        replaced = self.options.apps.get(name, self.options.services.get(name))
        if replaced != self.options.services.get(name):  # not the scenario's own service
            return current, "the user's app again, as a new deployment"
        if planned:
            return planned, f"the scenario's version {version}"
        return current, "the same app, as a new deployment"

    async def _until_busy(self, deployment: str, until: asyncio.Event | None) -> float | None:
        """Seconds until `deployment` has an invocation in flight (pinned to it, not
        completed), or None if `until` was set first. While the server is down (a fault of
        its own) there is no reading: the wait goes on."""
        t0 = time.monotonic()
        while until is None or not until.is_set():
            try:
                async with asyncio.timeout(1.0):
                    if await self.server.admin.pinned(deployment) > 0:
                        return time.monotonic() - t0
            except (HarnessError, aiohttp.ClientError, TimeoutError, OSError):
                pass
            await asyncio.sleep(0.05)
        return None

    async def _drain(self, old: ServiceProcess, done: dict[str, Any], bound: float | None) -> None:
        """Stop the old version once no invocation has been pinned to it for DRAIN_QUIET
        seconds in a row (one reading of zero is not enough: a server that has just
        restarted answers from the partitions it has opened so far): judged by evidence,
        not a fixed time. `bound` (drain_s), if given, stops it sooner, pinned or not. If
        the heal comes first (invocations still pinned to it, a timer far off), it runs on
        to the end of the run, where the teardown stops it; run.json says which."""
        t0, quiet, left = time.monotonic(), None, None
        try:
            while bound is None or time.monotonic() - t0 < bound:
                try:  # a server not serving every partition answers from some: no reading
                    left = (
                        await self.server.admin.pinned(done["from"]) if self.server.ready else None
                    )
                except (HarnessError, aiohttp.ClientError, OSError):
                    left = None  # the server is down: no reading
                if left != 0:
                    quiet = None
                elif quiet is None:
                    quiet = time.monotonic()
                elif time.monotonic() - quiet >= DRAIN_QUIET:
                    break
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:  # the heal: it serves its pinned invocations on
            done.update(left_pinned=left, kept_to_end=True, drained_s=None)
            self._write_manifest()
            raise
        # recorded before the stop: a heal that cancels this task mid-stop loses nothing
        done.update(left_pinned=left, drained_s=round(time.monotonic() - t0, 3))
        if left:
            done["stopped_pinned"] = left  # drain_s ran out: reported, not hidden
        self._write_manifest()
        await asyncio.shield(old.stop())

    @property
    def docker(self) -> Any:
        """The Docker engine (--backend docker), connected at first use."""
        if self._docker is None:
            from harness.runtime.containers import engine

            self._docker = engine()
        return self._docker

    @property
    def scale(self) -> int:
        """The workload multiplier (--scale N): the parameters a scenario lists in SCALED
        are already multiplied; a scenario multiplies anything else it sizes by hand (for
        example the number of keys its event-triggered faults aim at)."""
        return self.options.scale

    def contract(self, name: str) -> Any:
        """How to talk to service `name`: the user's adapter (--adapter), else the
        scenario's contract (its module's CONTRACTS[name]). Recorded in run.json."""
        from harness.contracts import assumptions, make

        if name not in self.options.contracts:
            raise HarnessError(f"the scenario declares no contract for {name!r} in CONTRACTS")
        if name in self.contracts:
            return self.contracts[name]
        spec = self.options.adapters.get(name)
        self.manifest.setdefault("adapters", {})
        if spec is not None:
            self.manifest["adapters"][name] = spec
        self.manifest["app_paths"] = [str(p) for p in self.options.app_paths]
        default = self.options.contracts[name]
        contract = make(spec, default, self.manifest["app_paths"], self.options.assumed)
        what = assumptions(contract, default, self.options.assumed)
        if what:  # what the scenario assumed of this service, and where each value came from
            self.manifest.setdefault("assumptions", {})[name] = what
        self._write_manifest()
        self.contracts[name] = contract
        return contract

    def check_overrides(self, faults: Sequence[Fault] = ()) -> None:
        """An --app for a service this scenario does not start, or for a later version
        (NAME@N) of one its fault plan never upgrades N - 1 times, is bad input (a typo would
        otherwise test the bundled service and pass)."""
        named = {n.partition("@")[0] for n in self.options.apps}
        unknown = sorted(named - set(self.started_names))
        if unknown:
            raise BadInput(
                f"--app names {', '.join(map(repr, unknown))}, but scenario {self.scenario!r} "
                f"has no such service; its services: {', '.join(self.started_names) or 'none'}"
            )
        upgrades = Counter(f.target for f in faults if f.kind == "upgrade")
        for n in self.options.apps:
            service, _, version = n.partition("@")
            if version and int(version) > 1 + upgrades[service]:
                raise BadInput(
                    f"--app {n}=...: scenario {self.scenario!r} upgrades {service!r} "
                    f"{upgrades[service]} time(s) in its plan, so it never runs a version "
                    f"{version}"
                )

    async def start_kafka(self) -> KafkaBroker:
        """A Kafka-protocol broker, registered with the server as cluster "chaos" (the Kafka
        path of event processing; needs the `kafka` extra). Start the server first."""
        assert self.server is not None, "start_server() first"
        self.kafka = KafkaBroker(kafka.resolve_broker(), self.ports.allocate(), self.dir / "logs")
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
        self.manifest.setdefault("subscriptions", []).append(sub)
        self._write_manifest()

    async def effect_window(
        self,
        target: str,
        op: str,
        keys: list[str],
        latency_ms: int = 300,
        downtime: float = 0.3,
        kind: str = "kill",
    ) -> list[Fault]:
        """Faults that hit `target` right after the world applied `op` for each of `keys`,
        whose answers the world holds back `latency_ms` (set here): the fault lands between
        the side effect and its journal entry, where exactly-once is decided. `kind` "kill"
        kills the service; "reset" resets the streams to it, the network twin."""
        assert self.world is not None, "start_world() first"
        for key in keys:
            await self.world.set_knob(op, key, latency_ms=latency_ms)
        return effect_window_plan(target, op, keys, downtime, window_ms=latency_ms, kind=kind)

    async def wait_delivered(self, handlers: list[str], at_least: int, timeout: float) -> None:
        """Wait until `handlers` ("Service/handler") have at least `at_least` invocations:
        events still in a topic (a consumer group rejoining after a server kill) are not
        invocations yet, so quiesce alone would not wait for them. Gives up only after
        `timeout` seconds in which no new one came: a slow machine delivers late, not never."""
        assert self.server is not None
        t0 = progressed = time.monotonic()
        seen = -1
        while time.monotonic() - progressed < timeout:
            n = await self.server.admin.count_invocations(handlers)
            if n >= at_least:
                break
            if n > seen:
                seen, progressed = n, time.monotonic()
            await asyncio.sleep(0.2)
        self.timings["delivered"] = time.monotonic() - t0

    def producer(self) -> EventProducer:
        """`async with chaos.producer() as events: await events.send(topic, sink, key, value)`"""
        from harness.workload.kafka import EventProducer

        assert self.kafka is not None, "start_kafka() first"
        return EventProducer(self.kafka.bootstrap, self.history)

    @property
    def components(self) -> dict[str, Supervised]:
        out: dict[str, Supervised] = dict(self.services)
        if isinstance(self.server, Cluster):  # its nodes, by name
            out.update({n.name: n for n in self.server.nodes})
        elif self.server is not None:
            out["server"] = self.server
        if self.kafka is not None:
            out["kafka"] = self.kafka
        return out

    # -- chaos ---------------------------------------------------------------------------
    def client(self, timeout: float = 15.0) -> IngressClient:
        assert self.server is not None, "start_server() first"
        serving = getattr(self.server, "serving", None)  # a cluster's health checks
        return IngressClient(self.server.ingress_urls, self.history, timeout, serving=serving)

    async def drive(
        self,
        requests: list[Request | Flow],
        faults: Sequence[Fault] = (),
        concurrency: int = 32,
        timeout: float = 10.0,
        retry_for: float = 30.0,
        duration: float | None = None,
        rate: float | None = None,
        preflight: bool = True,
    ) -> list[Outcome]:
        """Send `requests` while the nemesis executes `faults`; returns final outcomes.

        `timeout` bounds one attempt; a request with an idempotency key is retried with
        the same key for up to `retry_for` seconds before the client gives up on it; after
        `duration` seconds (if given) no new request is started; with `rate`, requests
        start at most `rate` per second (an arrival schedule, not a burst). First, the
        preflight (harness/preflight.py) checks that the deployments serve the requests'
        handlers and probes each one: a mismatch stops the run as bad input."""
        self.check_overrides(faults)
        await self._check_versions()
        workload, generated, positions = list(requests), len(requests), None
        if self.options.subset_file is not None:
            subset = Subset.load(self.options.subset_file)
            positions = subset.positions(workload)
            requests = [workload[i] for i in positions]
            self.manifest["subset"] = subset.to_record()
            self.manifest["subset_file"] = str(self.options.subset_file)
        if preflight:
            t0 = time.monotonic()
            async with self.client() as client:
                await check_preflight(
                    client,
                    self.server.admin,
                    list(requests),
                    self.manifest.get("services", {}),
                    list(self.contracts.values()),
                )
            self.timings["preflight"] = time.monotonic() - t0
        if self.options.plan_file is not None:  # the user's plan, as given (not scaled)
            self.plan = load_plan(self.options.plan_file)
            self.manifest["plan_file"] = str(self.options.plan_file)
            known = {*self.components, *self.remote, "server"}
            unknown = sorted({f.target for f in self.plan} - known)
            if unknown:
                raise BadInput(
                    f"--plan {self.options.plan_file}: no target {', '.join(unknown)} in "
                    f"this scenario; its targets are {', '.join(sorted(known))}"
                )
        else:
            self.plan = scale_plan(list(faults), self.scale, generated)
        if isinstance(self.server, Cluster):  # no "server": a node chosen by the seed
            # a call an ingress forwarded to a killed partition leader hangs until the client's
            # timeout: attempts give up within seconds and retries go on past Restate's own
            # failover allowance, so the `nodes` finding measures the cluster, not the
            # client's patience
            timeout = min(timeout, CLUSTER_ATTEMPT_S)
            retry_for = max(retry_for, FAILOVER_ALLOWANCE + 2 * CLUSTER_ATTEMPT_S)
            nodes = random.Random(f"{self.seed}:nodes")
            self.plan = [
                dataclasses.replace(f, target=nodes.choice(self.server.names))
                if f.target == "server"
                else f
                for f in self.plan
            ]
        if len(requests) < generated:  # a fault after N requests stays as far into the workload
            self.plan = [
                f
                if f.after_ops is None
                else dataclasses.replace(f, after_ops=f.after_ops * len(requests) // generated)
                for f in self.plan
            ]
        self.history.append(
            "workload",
            **workload_record(
                workload, requests, self.plan, self.options.plan_file is not None, positions
            ),
        )
        if self.options.duration is not None:
            duration = min(duration or math.inf, self.options.duration)
        # what the client is given, for the checkers (an attempt's timeout bounds how long
        # a request sent to a node that died waits before it is retried on another)
        self.manifest["client"] = {"attempt_timeout_s": timeout, "retry_for_s": retry_for}
        self.manifest["plan"] = [f.__dict__ for f in self.plan]
        self.manifest["plan_digest"] = plan_digest(self.plan)
        self._write_manifest()

        def unrunnable(f: Fault) -> str | None:
            """Why the harness cannot make fault `f`, if it cannot: a URL deployment's
            path can be faulted, not its process; only a process can be upgraded."""
            if f.target in self.remote and f.kind in (*PROCESS_KINDS, "upgrade"):
                return (
                    f"{f.target} is a URL deployment the harness does not run: it cannot be "
                    "killed, stopped, paused or upgraded (the server still is faulted)"
                )
            if f.kind == "upgrade" and self.options.backend == "docker":
                return f"{f.target} runs as a container: only a process can be upgraded"
            return None

        nemesis = Nemesis(
            [f for f in self.plan if not unrunnable(f)],
            self.components,
            self.history,
            self.dir / "faults.jsonl",
            events=self.world,
            restate=self._restate_counts,
            links=dict(self.links),
            # a cluster survives one node down: node faults run one at a time
            roles={n: "node" for n in getattr(self.server, "names", [])},
            upgrade=self.upgrade,
            serves_without=getattr(self.server, "serves_without", None),
        )
        if self.world is not None and any(f.on_event for f in self.plan):
            nemesis.events_after = await self.world.last_seq()
        for f in self.plan:
            why = unrunnable(f)
            if why:
                nemesis.record("fault-skipped", kind=f.kind, target=f.target, reason=why)
        t0 = time.monotonic()
        async with self.client(timeout) as client, self.history.buffered():
            watch = MismatchWatch(self.server.admin, self.restate_services)
            driver = Driver(
                client,
                concurrency=concurrency,
                retry_for=retry_for,
                wedged=lambda r: watch.why(r.service, r.key, r.idem),
            )
            chaos = asyncio.create_task(nemesis.run(driver))
            ticker = asyncio.create_task(self._progress(driver, nemesis, len(requests), t0))
            try:
                outcomes = await self._unless_world_dies(
                    driver.run(requests, duration, rate, positions)
                )
            finally:
                nemesis.workload_done.set()
                await chaos
                ticker.cancel()
                self._report_progress(driver, nemesis, len(requests), t0, final=True)
        self.timings["chaos"] = time.monotonic() - t0
        self.stats["driver"] = dict(driver.stats.__dict__)
        # what the client was given: on a cluster, the attempt and retry limits drive() set
        self.stats["driver"].update(concurrency=concurrency, timeout=timeout, retry_for=retry_for)
        return outcomes

    def _check_world(self) -> None:
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

    async def _unless_world_dies(self, work: Any) -> Any:
        """Await `work`, stopping within WATCH_EVERY seconds if the world or the proxy dies
        or an interrupt went missing."""
        task = asyncio.ensure_future(work)
        while not task.done():
            await asyncio.wait({task}, timeout=WATCH_EVERY)
            try:
                self._check_world()
            except (HarnessError, KeyboardInterrupt):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise
        return task.result()

    async def _restate_counts(self) -> dict[str, int] | None:
        """The run's invocations by status, or None when the server does not answer at
        once (it is down: a fault)."""
        if self.server is None or not self.restate_services:
            return None
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for swallows a cancel that arrives
            # as the call completes, and the sampler then outlived its run (a CI hang)
            async with asyncio.timeout(1.0):
                return await self.server.admin.status_counts(self.restate_services, within=0)
        except (HarnessError, aiohttp.ClientError, TimeoutError, OSError):
            return None

    def _report_progress(
        self, driver: Driver, nemesis: Nemesis, total: int, t0: float, final: bool = False
    ) -> None:
        if self.options.progress is not None:
            st = driver.stats
            self.options.progress(
                f"{self.scenario} seed {self.seed}: {st.done}/{total} requests, "
                f"{st.in_flight} in flight, {nemesis.injected} faults, "
                f"{time.monotonic() - t0:.1f}s",
                final,
            )

    async def _progress(self, driver: Driver, nemesis: Nemesis, total: int, t0: float) -> None:
        while True:
            self._report_progress(driver, nemesis, total, t0)
            await asyncio.sleep(0.5)

    async def verify(
        self,
        checks: Callable[[RunData], list[Verdict]],
        reads: Iterable[Request] = (),
        timeout: float = 30.0,
        services: list[str] | None = None,
    ) -> list[Verdict]:
        """The end of every scenario: heal, quiesce (bounded by `timeout`) every Restate
        service this run registered (or `services`), read final state (`reads`, in
        parallel, recorded in the history), run the checks, and fail unless every guarantee
        held. A read that gets no answer (a wedged key) is evidence for the liveness
        verdict, not a crash."""
        await self.heal()
        await self._unless_world_dies(self.quiesce(services, timeout))
        await self._final_reads(list(reads))
        await self.check(checks)
        self.assert_held()
        return self.verdicts

    @property
    def restate_services(self) -> list[str]:
        """The Restate services of every deployment this run registered."""
        found = self.manifest.get("services", {}).values()
        return sorted({name for s in found for name in s["restate_services"]})

    async def _final_reads(self, reads: list[Request], attempts: int = 3) -> None:
        """Each read until answered. A read that times out on a key where another
        invocation is still pending is blocked behind it: evidence of a wedged key (the
        liveness verdict's), so it is not retried; one that times out with nothing ahead
        of it is only slow, and is tried again with twice the time (10, 20, 40 s)."""
        limit = asyncio.Semaphore(16)

        async def read(client: IngressClient, req: Request) -> None:
            req = dataclasses.replace(req, meta={**req.meta, "check_read": True})
            async with limit:
                for attempt in range(1, attempts + 1):
                    out = await client.call(req, attempt=attempt, timeout=10.0 * 2 ** (attempt - 1))
                    if out.type == "ok":
                        return
                    if "Timeout" in (out.error or "") and await self._blocked(req):
                        return  # wedged behind another invocation: waiting shows nothing new
                    await asyncio.sleep(0.2 * attempt)

        t0 = time.monotonic()
        async with self.client(timeout=10.0) as client:
            await asyncio.gather(*(read(client, r) for r in reads))
        self.timings["final_reads"] = time.monotonic() - t0

    async def _blocked(self, req: Request) -> bool:
        """Whether `req`'s key has a pending invocation of another handler (the read waits
        behind it); a keyless read is never blocked. No answer from Restate: blocked."""
        if req.key is None:
            return False
        key = req.key.replace("'", "''")
        try:
            rows = await self.server.admin.invocations(
                [req.service], f"target_service_key = '{key}' AND status != 'completed'"
            )
        except (HarnessError, aiohttp.ClientError, OSError):
            return True
        return any(not str(r.get("target", "")).endswith("/" + req.handler) for r in rows)

    async def heal(self) -> None:
        """Every fault undone, every process up; an upgrade's old version not drained yet
        runs on, serving what is pinned to it (the teardown stops it)."""
        t0 = time.monotonic()
        for drain in self._drains:  # a version still serving pinned invocations runs on
            drain.cancel()
        for outcome in await asyncio.gather(*self._drains, return_exceptions=True):
            if isinstance(outcome, Exception):  # a drain that failed is no silent success
                raise outcome
        for comp in self.components.values():
            if comp.proc is not None:
                comp.resume()
            if not comp.running():
                await comp.start()
        for link in self.links.values():
            await link.set()
            await link.fail_nth(None)
        self.timings["heal"] = time.monotonic() - t0

    async def quiesce(self, services: list[str] | None = None, timeout: float = 30.0) -> None:
        """Wait (bounded) until none of `services`' invocations is non-completed, then dump
        their sys_invocation rows to invocations.json. Stuck invocations are not an error
        here: the liveness check reports them. Where messages can still be on their way
        (the client sent one-way requests or Kafka events, or a service journaled a
        one-way call), the invocation count must also stay unchanged for SETTLE seconds;
        otherwise the run is quiet as soon as Restate reports nothing pending."""
        assert self.server is not None
        services = services or self.restate_services
        admin = self.server.admin
        t0 = time.monotonic()
        waited_world = await self._world_delivered(timeout)
        one_way = self.history.one_way or await admin.one_way_calls(services)
        self.stats["quiesce_settle"] = settle = SETTLE if one_way else 0.0
        left = max(timeout - waited_world, 1.0)
        with contextlib.suppress(NotQuiescent):  # what is still pending: liveness says
            await admin.wait_quiescent(services, left, settle)
        self.timings["quiesce"] = time.monotonic() - t0
        self.manifest["checked_services"] = services
        # what was observed ends here: a time after it (a timer, a delayed call) is due
        # after the run, which checkers call unknown, not missed
        self.manifest["observed_until"] = time.time()
        rows = await admin.invocations(services)
        due = await admin.waiting_until(services)
        for r in rows:
            if r.get("id") in due:
                r["waiting_until"] = due[r["id"]]
        journal_of = "TRUE"
        if len(rows) > FULL_DUMP_UP_TO:  # a soak: keep what the verdicts and report use
            rows = [r if r.get("status") != "completed" else slim(r) for r in rows]
            journal_of = "i.status != 'completed'"
            self.manifest["dumps"] = (
                f"{len(rows)} invocations: of completed ones only status and journal size, "
                "journals of the not completed ones only"
            )
        manifest.write_json(self.dir / "invocations.json", {"rows": rows})
        journal = await admin.journal(services, journal_of)
        manifest.write_json(self.dir / "journal.json", {"rows": journal})

    async def _world_delivered(self, timeout: float) -> float:
        """Wait (bounded) until the world has made every webhook delivery it scheduled:
        each one starts an invocation, which the quiesce must not miss. Returns the
        seconds waited."""
        t0 = time.monotonic()
        while self.world is not None and time.monotonic() - t0 < timeout:
            if await self.world.pending_deliveries() == 0:
                break
            await asyncio.sleep(0.1)
        self.stats["world_deliveries_waited_s"] = round(time.monotonic() - t0, 3)
        return time.monotonic() - t0

    async def ledger(self) -> dict[str, list[dict[str, Any]]]:
        """The world's ledger after heal, also written to ledger.json in the run dir."""
        assert self.world is not None, "start_world() first"
        dump = await self.world.ledger()
        manifest.write_json(self.dir / "ledger.json", dump)
        return dump

    # -- verdicts ------------------------------------------------------------------------
    async def check(self, checks: Callable[[RunData], list[Verdict]]) -> list[Verdict]:
        """Run the scenario's checks, a pure function of the run directory's data. After
        heal and quiesce, and after the check-phase reads (they are part of the history)."""
        t0 = time.monotonic()
        self._check_world()
        if self.world is not None:
            await self.ledger()
        self.manifest["checks"] = f"{checks.__module__}:{checks.__qualname__}"
        self.manifest["checks_file"] = inspect.getfile(checks)
        self._write_manifest()
        data = RunData.load(self.dir)
        self.verdicts = evaluate(checks, data)
        self.stats["recovery"] = hist.recovery_summary(data.records)
        self.timings["check"] = time.monotonic() - t0
        return self.verdicts

    @property
    def valid(self) -> bool | str:
        return combine(self.verdicts)

    def assert_held(self) -> None:
        """Fail the scenario unless every guarantee held (unknown is not a pass)."""
        self.asserted = True
        if self.valid is True:
            return
        lines = [
            f"{v.id}: {v.valid} - {v.name}: {v.summary}"
            + (f"\n    likely cause: {v.cause}" * bool(v.cause))
            + "".join(
                f"\n    rests on {n}={a['value']!r} ({a['source']}; --param {n}=... to change)"
                for n, a in v.assumes.items()
            )
            + (f"\n    known: {v.known}" * bool(v.known))
            for v in self.verdicts
            if v.valid is not True
        ]
        failures = next(
            (
                v.stats["common_failures"]
                for v in self.verdicts
                if v.valid is not True and v.stats.get("common_failures")
            ),
            [],
        )
        if failures:
            lines.append("most common failures in the history:")
            lines += [
                f"  {f['count']} x {f['outcome']} {f['target']}: {f['error']}" for f in failures
            ]
        raise AssertionError(
            f"verdict {self.valid} for run {self.id} (seed {self.seed}):\n  "
            + "\n  ".join(lines)
            + f"\nreport: {self.dir}\nreproduce: {self.manifest['reproduce']}"
        )

    # -- teardown ------------------------------------------------------------------------
    async def close(self) -> None:
        """Release what needs the event loop (HTTP sessions); finish() does the rest."""
        await self.selfwatch.stop()
        if self.server is not None:
            await self.server.close()
        if self.world is not None:
            await self.world.close()
        if self.proxy is not None:
            await self.proxy.close()

    def finish(
        self, error: str | None = None, interrupted: bool = False, bad_input: bool = False
    ) -> None:
        """Kill this run's processes, write results.json and the final manifest.

        Synchronous and idempotent, so it also runs after Ctrl-C, when no event loop is left.
        """
        if self._finished:
            return
        self._finished = True
        with shielded():  # a second Ctrl-C does not leave a half-written run behind
            self._finish(error, interrupted, bad_input)

    def _finish(self, error: str | None, interrupted: bool, bad_input: bool) -> None:
        t0 = time.monotonic()
        for comp in [*self.components.values(), *self.retired, self.world_process, self.proxy]:
            if comp is not None and comp.proc is not None:
                comp.destroy()
        self.ports.release_all()
        self.timings["teardown"] = time.monotonic() - t0
        self.history.close()  # the check-phase reads are in; nothing more is appended
        self.stats["harness"] = self.selfwatch.summary()
        if interrupted:
            status = "interrupted"
        elif bad_input:
            status = "bad-input"
        elif error is not None:
            status = "crashed"
        else:
            status = status_of(self.valid)
        manifest.write_json(
            self.dir / "results.json",
            {
                "run_id": self.id,
                "scenario": self.scenario,
                "seed": self.seed,
                "status": status,
                "valid": self.valid,
                "error": error,
                "verdicts": [v.to_record() for v in self.verdicts],
                "timings": self.timings,
                "stats": self.stats,
            },
        )
        self.manifest.update(
            status=status, finished=time.time(), duration=round(time.time() - self.started, 3)
        )
        self._write_manifest()
        if (status == "passed" and not self.options.keep_data) or self.options.drop_data:
            shutil.rmtree(self.dir / "restate" / "n1" / "data", ignore_errors=True)

    def _write_manifest(self) -> None:
        manifest.write_json(self.dir / "run.json", self.manifest)
