"""The fault kind `upgrade`: version N+1 of a service takes over while version N's
invocations are in flight, in place or as a new deployment with the old one drained.

Which code the new version runs is decided by `next_version`: the user's version N
(`--app NAME@N=SPEC`), else the user's own app again, else the scenario's planned version,
else the same app. Never the harness's code in place of the user's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_fixed

from harness.errors import BadInput, HarnessError, ProcessFailed
from harness.nemesis.faults import UPGRADE_ARGS
from harness.network.link import Link
from harness.runtime.admin import AdminError
from harness.runtime.service import ServiceProcess, check_spec, handlers_of
from harness.runtime.topology import Topology, start_cap

# seconds an upgrade's old version must have had nothing pinned to it before it is stopped
DRAIN_QUIET = 2.0


def next_version(
    apps: dict[str, str], services: dict[str, str], name: str, version: int,
    planned: str | None, current: str,
) -> tuple[str, str]:  # fmt: skip
    """Which code version `version` of service `name` runs, and why: the user's own
    (`--app NAME@N=SPEC` in `apps`); else, where the user replaced the service (`--app
    NAME=`), the user's app again, as a new deployment: never the harness's own code in
    place of theirs; else the scenario's planned next version (`planned`), else the same.
    `services`: the scenario's own implementations."""
    given = apps.get(f"{name}@{version}")
    if given is not None:
        return given, f"the user's version {version} (--app {name}@{version}=...)"
    if apps.get(name, services.get(name)) != services.get(name):  # the user's service
        return current, "the user's app again, as a new deployment"
    if planned:
        return planned, f"the scenario's version {version}"
    return current, "the same app, as a new deployment"


class Upgrader:
    """Carries out the plan's upgrades on the run's topology and records them in run.json
    ("upgrades", which the finding `upgrades` reads)."""

    def __init__(self, topology: Topology, apps: dict[str, str], services: dict[str, str]):
        self.topology = topology
        self.apps = apps  # --app, with NAME@N versions
        self.services = services  # the scenario's own implementations
        self.drains: list[asyncio.Task[None]] = []  # old versions waiting to be stopped

    @property
    def manifest(self) -> dict[str, Any]:
        return self.topology.rundir.manifest

    async def check_versions(self) -> None:
        """Before any fault: each version the user named (`--app NAME@N=SPEC`) starts and
        serves the Restate services its current version registered (Restate discovers it
        in a dry run: nothing is registered), else bad input naming what it serves."""
        top = self.topology
        assert top.server is not None
        for n, app in self.apps.items():
            name, _, version = n.partition("@")
            if not version or name not in top.services:
                continue
            svc = ServiceProcess(
                app, top.ports.allocate(), top.logs, name=f"{name}-v{version}-check",
                env=top.service_env(check_spec(app), name),
            )  # fmt: skip
            try:
                await svc.start(timeout=start_cap())
                found = handlers_of(await top.server.admin.register(svc.uri, dry_run=True))
            except (ProcessFailed, AdminError) as e:
                raise BadInput(
                    f"--app {n}={app}: version {version} cannot be deployed: {e}"
                ) from None
            finally:
                svc.destroy()
            current = top.services[name].handlers
            missing = sorted(set(current) - set(found))
            if missing:
                served = ", ".join(found) or "nothing"
                raise BadInput(
                    f"--app {n}={app}: version {version} does not serve "
                    f"{', '.join(missing)}, which {name!r} serves now (it serves {served})"
                )

    async def upgrade(
        self, name: str, args: dict[str, Any], until: asyncio.Event | None = None
    ) -> tuple[dict[str, Any], ServiceProcess, Link]:
        """Version N+1 of service `name` (`args["app"]`, else as `next_version` says)
        started on a new port and registered through a new link while version N's
        invocations are in flight; version N is stopped once none is pinned to it (at most
        `drain_s` seconds later, in the background: the service's next faults act on the
        new version at once). With `in_place` (the unsafe way, a negative control):
        version N is killed at once and the new one takes its endpoint, re-registered with
        force, so the invocations pinned there replay on the new code. Aimed at work, not
        at the clock: the switch waits until version N has an invocation in flight (pinned
        to it, not completed), however slow the machine; if none came before `until` (the
        workload's end) the upgrade is missed, nothing is switched, and the answer says so
        (`missed`). Returns what happened, the new version's process and its link."""
        top = self.topology
        assert top.server is not None
        old = top.services.get(name)
        if top.backend == "docker" or not isinstance(old, ServiceProcess):
            raise BadInput(f"upgrade {name!r}: only a service run as a process can be upgraded")
        args = {**UPGRADE_ARGS, **args}
        record = top.records[name]
        version = 2 + sum(u["service"] == name for u in self.manifest.get("upgrades", []))
        app, source = next_version(self.apps, self.services, name, version, args["app"], old.app)
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
                return missed, old, top.links[name]
            await old.kill()
        port = old.port if args["in_place"] else top.ports.allocate()
        new = ServiceProcess(
            app, port, top.logs, name=f"{name}-v{version}", env=top.service_env(old.kind, name)
        )
        await new.start(timeout=start_cap())
        link = top.links[name]
        if not args["in_place"]:
            link = await top.link(f"{name}-v{version}", new.uri)
            waited = await self._until_busy(record["deployment_id"], until)
            if waited is None:  # the new version never took over: stopped, unrecorded
                await new.stop()
                return missed, old, top.links[name]
        await top.server.claim(link.uri)
        # the server may be down (a fault of its own): registration waits for it, bounded
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type((aiohttp.ClientError, OSError, HarnessError)),
            stop=stop_after_delay(30),
            wait=wait_fixed(0.1),
            reraise=True,
        ):
            with attempt:
                switch = time.time()
                await new.register(top.server.admin, link.uri)
        top.server.registered_by_run(new.deployment_id)
        await top.server.wait_known(list(new.handlers))
        pinned = await top.server.admin.pinned(record["deployment_id"])
        top.retired.append(old)
        top.services[name], top.links[name] = new, link
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
        top.rundir.write()
        if not args["in_place"]:  # in the background: the service's next faults go on
            self.drains.append(asyncio.create_task(self._drain(old, done, args["drain_s"])))
        return done, new, link

    async def _until_busy(self, deployment: str, until: asyncio.Event | None) -> float | None:
        """Seconds until `deployment` has an invocation in flight (pinned to it, not
        completed), or None if `until` was set first. While the server is down (a fault of
        its own) there is no reading: the wait goes on."""
        assert self.topology.server is not None
        t0 = time.monotonic()
        while until is None or not until.is_set():
            try:
                async with asyncio.timeout(1.0):
                    if await self.topology.server.admin.pinned(deployment) > 0:
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
        server = self.topology.server
        assert server is not None
        t0, quiet, left = time.monotonic(), None, None
        try:
            while bound is None or time.monotonic() - t0 < bound:
                try:  # a server not serving every partition answers from some: no reading
                    left = await server.admin.pinned(done["from"]) if server.ready else None
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
            self.topology.rundir.write()
            raise
        # recorded before the stop: a heal that cancels this task mid-stop loses nothing
        done.update(left_pinned=left, drained_s=round(time.monotonic() - t0, 3))
        if left:
            done["stopped_pinned"] = left  # drain_s ran out: reported, not hidden
        self.topology.rundir.write()
        await asyncio.shield(old.stop())

    async def settle(self) -> None:
        """At the heal: an old version not drained yet runs on, serving what is pinned to
        it (the teardown stops it); a drain that failed is no silent success."""
        for drain in self.drains:
            drain.cancel()
        for outcome in await asyncio.gather(*self.drains, return_exceptions=True):
            if isinstance(outcome, Exception):
                raise outcome
