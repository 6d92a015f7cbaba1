"""One scenario run, as the scenario sees it: its seed, its contracts, its phases.

Phases: start (server, services) -> chaos (drive + nemesis) -> verify (heal, quiesce, final
reads, checks, assert) -> finish (results.json, teardown). finish() always runs, also when a
phase raised; a run directory is complete whether the run passed, failed or crashed.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import manifest, phases, plan
from harness.checkers.coverage import coverage
from harness.checkers.data import RunData
from harness.checkers.verdict import Verdict, combine, evaluate, status_of
from harness.errors import HarnessError
from harness.nemesis.faults import Fault, effect_window_plan, load_plan, plan_digest
from harness.nemesis.upgrade import Upgrader
from harness.params import Params
from harness.phases import Settle
from harness.preflight import preflight as check_preflight
from harness.rundir import RESULTS_JSON, RunDir
from harness.runtime.config import RetryPolicy
from harness.runtime.kafka import KafkaBroker
from harness.runtime.processes import shielded
from harness.runtime.topology import Server, Topology
from harness.selfwatch import SelfWatch
from harness.workload import history as hist
from harness.workload.client import IngressClient, Outcome, Request
from harness.workload.driver import Flow
from harness.workload.subset import Subset
from harness.world.client import WorldClient

if TYPE_CHECKING:
    from harness.workload.kafka import EventProducer


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
    # the scenario's parameters, as --param and --scale gave them (harness/params.py)
    params: Params = field(default_factory=Params)
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
    # a Restate server the run does not start or own: its admin and ingress URLs
    # (--server-admin, --server-ingress; harness/runtime/external.py)
    server_admin: str | None = None
    server_ingress: str | None = None
    load: int = 0  # cores kept busy for the session (--load): recorded, not run by the Run
    # an explicit fault plan (--plan FILE: a JSON list of faults, or a run's run.json) that
    # replaces the scenario's seeded one
    plan_file: Path | None = None
    # a subset of the workload (--subset FILE: keys and/or item positions to keep)
    subset_file: Path | None = None
    # live progress during the chaos phase: called with a status line (final=True at the end)
    progress: Callable[[str, bool], None] | None = None


class Run:
    """What a scenario uses: its seeds' random streams, its services' contracts, the start
    of what it declared, the chaos phase (`drive`) and the settle and check phase
    (`verify`). The parts live in their own modules: the run folder (harness/rundir.py),
    the topology (harness/runtime/topology.py), the plan's preparation (harness/plan.py),
    upgrades (harness/nemesis/upgrade.py) and the phases (harness/phases.py)."""

    def __init__(self, scenario: str, options: RunOptions):
        self.scenario = scenario
        self.options = options
        self.seed = options.seed
        # separate streams: editing the workload does not move the faults, and back
        self.rng = random.Random(f"{options.seed}:workload")
        self.fault_rng = random.Random(f"{options.seed}:faults")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.id = f"{stamp}-{scenario}-s{options.seed}-{random.SystemRandom().randrange(16**4):04x}"
        self.started = time.time()
        record = manifest.base_manifest(scenario, self.seed, options.rerun)
        record.update(
            run_id=self.id,
            status="running",
            started=self.started,
            description=options.description,
            params=options.params.to_record(),
            scale=options.scale,
            duration_limit=options.duration,  # --duration ("duration" is the run's own)
            backend=options.backend,
            topology="external" if options.server_admin else options.topology,
            load={"busy_cores": options.load},
        )
        self.rundir = RunDir(options.report_dir / self.id, record)
        self.dir = self.rundir.path
        self.history = hist.History(self.rundir.history)
        self.timings: dict[str, float] = {}
        self.stats: dict[str, Any] = {}
        self.topology = Topology(
            self.id,
            self.rundir,
            self.timings,
            backend=options.backend,
            topology=options.topology,
            restate_bin=options.restate_bin,
            app_paths=options.app_paths,
            external=(options.server_admin, options.server_ingress or "")
            if options.server_admin
            else None,
        )
        self.upgrader = Upgrader(self.topology, options.apps, options.services)
        self.settle = Settle(self.topology, self.upgrader, self.history, self.timings, self.stats)
        self.verdicts: list[Verdict] = []
        self.plan: list[Fault] = []
        self.started_names: list[str] = []  # service names, in the order started
        # service name -> its contract, made and recorded once (chaos.contract)
        self.contracts: dict[str, Any] = {}
        self._finished = False
        self.asserted = False  # assert_held() ran: a failing test is a verdict, not a crash
        self.selfwatch = SelfWatch(self.history)  # started by the fixture, in the run's loop
        self.rundir.write()  # last: the fixture registers its finish right after

    @property
    def params(self) -> Any:
        """The scenario's parameters (its module's Params), as --param and --scale made them."""
        return self.options.params

    @property
    def manifest(self) -> dict[str, Any]:
        """run.json as it stands (a scenario may add what its checks read)."""
        return self.rundir.manifest

    @property
    def server(self) -> Server | None:
        return self.topology.server

    @property
    def world(self) -> WorldClient | None:
        return self.topology.world

    @property
    def scale(self) -> int:
        """The workload multiplier (--scale N): the parameters a scenario marks scaled()
        are already multiplied; a scenario multiplies anything else it sizes by hand (for
        example the number of keys its event-triggered faults aim at)."""
        return self.options.scale

    # -- start -----------------------------------------------------------------------------
    async def start(
        self, world: bool = True, retry: RetryPolicy | None = None, partitions: int = 4
    ) -> WorldClient | None:
        """What the scenario declared: the world (unless `world=False`, for services that
        call nothing outside), the server, and every service of its SERVICES, in their
        order, each the user's implementation where `--app` gives one. Returns the world."""
        started = await self.start_world() if world else None
        await self.start_server(retry, partitions)
        for name in self.options.services:
            await self.start_service(name)
        return started

    async def start_server(self, retry: RetryPolicy | None = None, partitions: int = 4) -> Server:
        """restate-server: one node, or the 3-node cluster of `--topology cluster3`."""
        return await self.topology.start_server(retry, partitions)

    async def start_world(self) -> WorldClient:
        """The simulated external systems, one process with its SQLite ledger in the run
        dir. Not a fault target: it is the ground truth. Start it before the services."""
        routes = [r for name in self.options.contracts for r in self.contract(name).ROUTES]
        return await self.topology.start_world(self.seed, routes)

    async def start_service(self, name: str, app: str | None = None) -> Any:
        """Start service `name` and register it: `app`, else the scenario's SERVICES[name];
        `--app NAME=SPEC` replaces it by the user's implementation: a Python module:app,
        cmd:COMMAND (any language, port in $PORT) or url:URL (a deployment the user runs,
        registered but never faulted)."""
        app = self.options.apps.get(name) or app or self.options.services.get(name)
        if app is None:
            raise HarnessError(
                f"service {name!r} has no implementation: pass app= or declare it in the "
                "scenario module's SERVICES = {name: 'module:app'}"
            )
        self.started_names.append(name)
        world_env = (
            tuple(self.contract(name).WORLD_URL_ENV) if name in self.options.contracts else ()
        )
        return await self.topology.start_service(name, app, world_env)

    def contract(self, name: str) -> Any:
        """How to talk to service `name`: the user's adapter (--adapter), else the
        scenario's contract (its module's CONTRACTS[name]). Recorded in run.json."""
        from harness.contracts import assumptions, make

        if name not in self.options.contracts:
            raise HarnessError(f"the scenario declares no contract for {name!r} in CONTRACTS")
        if name in self.contracts:
            return self.contracts[name]
        spec = self.options.adapters.get(name)
        self.rundir.entry("adapters", {})
        if spec is not None:
            self.manifest["adapters"][name] = spec
        self.manifest["app_paths"] = [str(p) for p in self.options.app_paths]
        default = self.options.contracts[name]
        contract = make(spec, default, self.manifest["app_paths"], self.options.assumed)
        what = assumptions(contract, default, self.options.assumed)
        if what:  # what the scenario assumed of this service, and where each value came from
            self.rundir.entry("assumptions", {})[name] = what
        self.rundir.write()
        self.contracts[name] = contract
        return contract

    async def start_kafka(self) -> KafkaBroker:
        """A Kafka-protocol broker, registered with the server as cluster "chaos" (the Kafka
        path of event processing; needs the `kafka` extra). Start the server first."""
        return await self.topology.start_kafka()

    async def subscribe(self, topic: str, sink: str, partitions: int = 4) -> None:
        """Create `topic` and subscribe `sink` ("Service/handler") to it."""
        await self.topology.subscribe(topic, sink, partitions)

    def producer(self) -> EventProducer:
        """`async with chaos.producer() as events: await events.send(topic, sink, key, value)`"""
        from harness.workload.kafka import EventProducer

        assert self.topology.kafka is not None, "start_kafka() first"
        return EventProducer(self.topology.kafka.bootstrap, self.history)

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

    # -- chaos -----------------------------------------------------------------------------
    def client(self, timeout: float = 15.0) -> IngressClient:
        return phases.client(self.topology, self.history, timeout)

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
        top, opts = self.topology, self.options
        assert top.server is not None, "start_server() first"
        plan.check_overrides(self.scenario, opts.apps, self.started_names, faults)
        await self.upgrader.check_versions()
        workload, generated, positions = list(requests), len(requests), None
        if opts.subset_file is not None:
            subset = Subset.load(opts.subset_file)
            positions = subset.positions(workload)
            requests = [workload[i] for i in positions]
            self.rundir.record(subset=subset.to_record(), subset_file=str(opts.subset_file))
        if preflight:
            t0 = time.monotonic()
            async with self.client() as client:
                await check_preflight(
                    client, top.server.admin, list(requests), top.records,
                    list(self.contracts.values()),
                )  # fmt: skip
            self.timings["preflight"] = time.monotonic() - t0
        given = None
        if opts.plan_file is not None:  # the user's plan, as given (not scaled)
            given = load_plan(opts.plan_file)
            self.manifest["plan_file"] = str(opts.plan_file)
            plan.check_targets(given, {*top.components, *top.remote, "server"}, str(opts.plan_file))
        nodes = list(top.server.roles)  # a cluster's nodes: its "server" faults go to one
        self.plan = plan.prepare(
            faults, seed=self.seed, scale=self.scale, generated=generated,
            kept=len(requests), given=given, nodes=nodes,
        )  # fmt: skip
        timeout, retry_for = plan.client_limits(bool(nodes), timeout, retry_for)
        self.history.append(
            "workload",
            **plan.workload_record(workload, requests, self.plan, given is not None, positions),
        )
        if opts.duration is not None:
            duration = min(duration or math.inf, opts.duration)
        # what the client is given, for the checkers (an attempt's timeout bounds how long
        # a request sent to a node that died waits before it is retried on another)
        self.rundir.record(
            client={"attempt_timeout_s": timeout, "retry_for_s": retry_for},
            plan=[f.__dict__ for f in self.plan],
            plan_digest=plan_digest(self.plan),
        )
        work = phases.Workload(
            list(requests), concurrency, timeout, retry_for, duration, rate, positions
        )
        t0 = time.monotonic()
        outcomes, self.stats["driver"] = await phases.chaos(
            top, self.history, self.plan, self.upgrader, work,
            f"{self.scenario} seed {self.seed}", opts.progress,
        )  # fmt: skip
        self.timings["chaos"] = time.monotonic() - t0
        return outcomes

    # -- settle and check --------------------------------------------------------------------
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
        await self.topology.unless_helpers_die(self.settle.quiesce(services, timeout))
        await self.settle.final_reads(list(reads))
        await self.check(checks)
        self.assert_held()
        return self.verdicts

    async def heal(self) -> None:
        """Every fault undone, every process up; an upgrade's old version not drained yet
        runs on, serving what is pinned to it (the teardown stops it)."""
        await self.settle.heal()

    async def ledger(self) -> dict[str, list[dict[str, Any]]]:
        """The world's ledger after heal, also written to ledger.json in the run dir."""
        assert self.world is not None, "start_world() first"
        dump = await self.world.ledger()
        self.rundir.write_json("ledger.json", dump)
        return dump

    async def check(self, checks: Callable[[RunData], list[Verdict]]) -> list[Verdict]:
        """Run the scenario's checks, a pure function of the run directory's data. After
        heal and quiesce, and after the check-phase reads (they are part of the history)."""
        t0 = time.monotonic()
        self.topology.check_helpers()
        if self.world is not None:
            await self.ledger()
        self.rundir.record(
            checks=f"{checks.__module__}:{checks.__qualname__}",
            checks_file=inspect.getfile(checks),
        )
        data = RunData.load(self.dir)
        self.verdicts = evaluate(checks, data)
        self.stats["recovery"] = hist.recovery_summary(data.records)
        # where in each handler's journal the faults landed (harness/checkers/coverage.py)
        self.stats["coverage"] = coverage(data.records, data.invocations, data.journal)
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
        await self.topology.close()

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
        self.topology.destroy()
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
        self.rundir.write_json(
            RESULTS_JSON,
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
        self.rundir.record(
            status=status, finished=time.time(), duration=round(time.time() - self.started, 3)
        )
        if (status == "passed" and not self.options.keep_data) or self.options.drop_data:
            shutil.rmtree(self.dir / "restate" / "n1" / "data", ignore_errors=True)
