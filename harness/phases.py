"""The two phases of a run after its start, on its topology:

- chaos: the driver sends the workload while the nemesis executes the plan, Restate's
  journal mismatches are watched, the world and the proxy are watched, progress is shown;
- settle: every fault undone, the world's deliveries made, Restate quiet (bounded), its
  invocations and journals dumped, the final reads made.

What each phase measures goes to the run's timings and stats; what it observed to the
history and the run folder. Verdicts are computed afterwards, from the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp

from harness.errors import HarnessError, NotQuiescent
from harness.nemesis.faults import Fault
from harness.nemesis.injectors.invocation import Operator
from harness.nemesis.nemesis import Nemesis
from harness.nemesis.upgrade import Upgrader
from harness.plan import unrunnable
from harness.runtime.admin import MismatchWatch
from harness.runtime.topology import Topology
from harness.workload.client import IngressClient, Outcome, Request
from harness.workload.driver import Driver, Flow
from harness.workload.history import History

SETTLE = 2.0  # seconds of unchanged invocation counts when messages may still arrive
# Restate's rows are dumped in full up to this many invocations; beyond (a soak), the
# completed ones are slimmed and only unfinished ones keep their journal: 100k
# invocations' journals are 77 MB of JSON and half a GB once loaded
FULL_DUMP_UP_TO = 20_000
# what the verdicts and the report read of a completed invocation: its status (counted)
# and its journal size (the report's journal statistics)
SLIM = ("status", "journal_size")
Progress = Callable[[str, bool], None]


def slim(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in SLIM if k in row}


def client(top: Topology, history: History, timeout: float = 15.0) -> IngressClient:
    """An ingress client on every ingress of the server, with its health checks."""
    assert top.server is not None, "start_server() first"
    return IngressClient(top.server.ingress_urls, history, timeout, serving=top.server.serving)


@dataclasses.dataclass
class Workload:
    """What the chaos phase sends and how (Run.drive's arguments)."""

    requests: list[Request | Flow]
    concurrency: int
    timeout: float
    retry_for: float
    duration: float | None
    rate: float | None
    positions: list[int] | None


async def chaos(
    top: Topology,
    history: History,
    plan: list[Fault],
    upgrader: Upgrader,
    work: Workload,
    label: str,
    progress: Progress | None,
) -> tuple[list[Outcome], dict[str, Any]]:
    """Drive the workload while the nemesis executes `plan`; the outcomes and the driver's
    statistics. A fault the harness cannot make is recorded as skipped, with the reason."""
    assert top.server is not None
    server = top.server
    skipped = [unrunnable(f, top.remote, top.backend, top.external is None) for f in plan]
    nemesis = Nemesis(
        [f for f, why in zip(plan, skipped, strict=True) if not why],
        top.components,
        history,
        top.rundir.faults,
        events=top.world,
        restate=top.restate_unfinished,
        links=dict(top.links),
        roles=server.roles,
        upgrade=upgrader.upgrade,
        serves_without=server.serves_without,
        operator=Operator(server.admin, {n: r["restate_services"] for n, r in top.records.items()}),
    )
    if top.world is not None and any(f.on_event for f in plan):
        nemesis.events_after = await top.world.last_seq()
    for f, why in zip(plan, skipped, strict=True):
        if why:
            nemesis.record("fault-skipped", kind=f.kind, target=f.target, reason=why)
    total, t0 = len(work.requests), time.monotonic()

    def show(driver: Driver, final: bool = False) -> None:
        if progress is not None:
            st = driver.stats
            progress(
                f"{label}: {st.done}/{total} requests, {st.in_flight} in flight, "
                f"{nemesis.injected} faults, {time.monotonic() - t0:.1f}s",
                final,
            )

    async def ticker(driver: Driver) -> None:
        while True:
            show(driver)
            await asyncio.sleep(0.5)

    async with client(top, history, work.timeout) as ingress, history.buffered():
        watch = MismatchWatch(server.admin, top.restate_services)
        driver = Driver(
            ingress,
            concurrency=work.concurrency,
            retry_for=work.retry_for,
            wedged=lambda r: watch.why(r.service, r.key, r.idem),
        )
        faults = asyncio.create_task(nemesis.run(driver))
        shown = asyncio.create_task(ticker(driver))
        try:
            outcomes = await top.unless_helpers_die(
                driver.run(work.requests, work.duration, work.rate, work.positions)
            )
        finally:
            nemesis.workload_done.set()
            await faults
            shown.cancel()
            show(driver, final=True)
    # what the client was given: on a cluster, the attempt and retry limits drive() set
    stats = dict(driver.stats.__dict__)
    stats.update(concurrency=work.concurrency, timeout=work.timeout, retry_for=work.retry_for)
    return outcomes, stats


class Settle:
    """The settle phase: heal, wait for quiet, dump Restate's view, read final state."""

    def __init__(
        self,
        top: Topology,
        upgrader: Upgrader,
        history: History,
        timings: dict[str, float],
        stats: dict[str, Any],
    ):
        self.top, self.upgrader, self.history = top, upgrader, history
        self.timings, self.stats = timings, stats

    async def heal(self) -> None:
        """Every fault undone, every process up; an upgrade's old version not drained yet
        runs on, serving what is pinned to it (the teardown stops it)."""
        t0 = time.monotonic()
        await self.upgrader.settle()
        await self.top.heal()
        self.timings["heal"] = time.monotonic() - t0

    async def quiesce(self, services: list[str] | None = None, timeout: float = 30.0) -> None:
        """Wait (bounded) until none of `services`' invocations is non-completed, then dump
        their sys_invocation rows to invocations.json. Stuck invocations are not an error
        here: the liveness check reports them. Where messages can still be on their way
        (the client sent one-way requests or Kafka events, or a service journaled a
        one-way call), the invocation count must also stay unchanged for SETTLE seconds;
        otherwise the run is quiet as soon as Restate reports nothing pending."""
        top = self.top
        assert top.server is not None
        services = services or top.restate_services
        admin = top.server.admin
        t0 = time.monotonic()
        waited_world = await self._world_delivered(timeout)
        one_way = self.history.one_way or await admin.one_way_calls(services)
        self.stats["quiesce_settle"] = settle = SETTLE if one_way else 0.0
        left = max(timeout - waited_world, 1.0)
        with contextlib.suppress(NotQuiescent):  # what is still pending: liveness says
            await admin.wait_quiescent(services, left, settle)
        self.timings["quiesce"] = time.monotonic() - t0
        manifest = top.rundir.manifest
        manifest["checked_services"] = services
        # what was observed ends here: a time after it (a timer, a delayed call) is due
        # after the run, which checkers call unknown, not missed
        manifest["observed_until"] = time.time()
        rows = await admin.invocations(services)
        due = await admin.waiting_until(services)
        for r in rows:
            if r.get("id") in due:
                r["waiting_until"] = due[r["id"]]
        journal_of = "TRUE"
        if len(rows) > FULL_DUMP_UP_TO:  # a soak: keep what the verdicts and report use
            rows = [r if r.get("status") != "completed" else slim(r) for r in rows]
            journal_of = "i.status != 'completed'"
            manifest["dumps"] = (
                f"{len(rows)} invocations: of completed ones only status and journal size, "
                "journals of the not completed ones only"
            )
        top.rundir.write_json("invocations.json", {"rows": rows})
        journal = await admin.journal(services, journal_of)
        top.rundir.write_json("journal.json", {"rows": journal})

    async def _world_delivered(self, timeout: float) -> float:
        """Wait (bounded) until the world has made every webhook delivery it scheduled:
        each one starts an invocation, which the quiesce must not miss. Returns the
        seconds waited."""
        world = self.top.world
        t0 = time.monotonic()
        while world is not None and time.monotonic() - t0 < timeout:
            if await world.pending_deliveries() == 0:
                break
            await asyncio.sleep(0.1)
        self.stats["world_deliveries_waited_s"] = round(time.monotonic() - t0, 3)
        return time.monotonic() - t0

    async def final_reads(self, reads: Sequence[Request], attempts: int = 3) -> None:
        """Each read until answered. A read that times out on a key where another
        invocation is still pending is blocked behind it: evidence of a wedged key (the
        liveness verdict's), so it is not retried; one that times out with nothing ahead
        of it is only slow, and is tried again with twice the time (10, 20, 40 s)."""
        limit = asyncio.Semaphore(16)

        async def read(ingress: IngressClient, req: Request) -> None:
            req = dataclasses.replace(req, meta={**req.meta, "check_read": True})
            async with limit:
                for attempt in range(1, attempts + 1):
                    out = await ingress.call(
                        req, attempt=attempt, timeout=10.0 * 2 ** (attempt - 1)
                    )
                    if out.type == "ok":
                        return
                    if "Timeout" in (out.error or "") and await self._blocked(req):
                        return  # wedged behind another invocation: waiting shows nothing new
                    await asyncio.sleep(0.2 * attempt)

        t0 = time.monotonic()
        async with client(self.top, self.history, timeout=10.0) as ingress:
            await asyncio.gather(*(read(ingress, r) for r in reads))
        self.timings["final_reads"] = time.monotonic() - t0

    async def _blocked(self, req: Request) -> bool:
        """Whether `req`'s key has a pending invocation of another handler (the read waits
        behind it); a keyless read is never blocked. No answer from Restate: blocked."""
        assert self.top.server is not None
        if req.key is None:
            return False
        key = req.key.replace("'", "''")
        try:
            rows = await self.top.server.admin.invocations(
                [req.service], f"target_service_key = '{key}' AND status != 'completed'"
            )
        except (HarnessError, aiohttp.ClientError, OSError):
            return True
        return any(not str(r.get("target", "")).endswith("/" + req.handler) for r in rows)
