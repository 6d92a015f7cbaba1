"""A Restate server or cluster the harness did not start (`--server-admin URL
--server-ingress URL`): a staging cluster, or one a team runs for its CI.

The harness registers the run's services with it (through the run's proxy, so the path
faults still act: the server must reach 127.0.0.1, as one on the same machine does), drives
the workload through its ingress and reads its introspection, but owns no process of it:
it has no fault targets, and a plan's server faults are skipped with the reason. A run
touches only what is its own: it refuses to register a service the server already has
from a deployment that is not the run's, reads only invocations created since it started,
and removes the deployments it registered when it ends.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import aiohttp

from harness.errors import BadInput
from harness.runtime.admin import AdminClient, AdminError
from harness.runtime.processes import Supervised
from harness.runtime.service import handlers_of

WHY_NOT = (
    "the server is not the harness's (--server-admin): it cannot be killed, stopped or "
    "paused by this run"
)


class ExternalServer:
    """The Server interface (harness/runtime/topology.py) over a server the run does not
    own: no targets, no roles, nothing to start or stop."""

    serving = None
    serves_without = None
    ready = True  # as far as the run can tell: it is not the run's to take down

    def __init__(self, admin_url: str, ingress_url: str):
        self.admin_url, self.ingress_url = admin_url.rstrip("/"), ingress_url.rstrip("/")
        # only the run's own invocations: those created since it connected (epoch ms)
        self.admin = AdminClient(self.admin_url, since_ms=int(time.time() * 1000))
        self.registered: list[str] = []  # deployment ids this run registered
        self.services: set[str] = set()  # the Restate services they serve
        self.version: str | None = None

    @property
    def ingress_urls(self) -> list[str]:
        return [self.ingress_url]

    @property
    def targets(self) -> dict[str, Supervised]:
        return {}

    @property
    def roles(self) -> dict[str, str]:
        return {}

    async def start(self, timeout: float = 30.0) -> float:
        """Connect: its admin API must answer (its health and its version), else bad input
        naming the URL. Nothing is started. Seconds taken."""
        t0 = time.monotonic()
        try:
            healthy = await self.admin.health()
            info = await self.admin.version() if healthy else {}
        except (aiohttp.ClientError, OSError) as e:
            healthy, info = False, {"error": str(e)}
        if not healthy:
            raise BadInput(
                f"--server-admin {self.admin_url}: no Restate admin API answers there "
                f"({info.get('error', 'no health')}); give the admin URL of a running server "
                "(port 9070 by default) and its ingress URL (8080) with --server-ingress"
            )
        self.version = info.get("version")
        return time.monotonic() - t0

    async def claim(self, uri: str) -> None:
        """Before registering the deployment at `uri`: the services it serves must be new to
        the server or the run's own (registered by this run), else bad input: a run does not
        replace another's service."""
        found = sorted(handlers_of(await self.admin.register(uri, dry_run=True)))
        theirs = {
            s["name"]: s.get("deployment_id")
            for s in await self.admin.services()
            if s["name"] in found and s.get("deployment_id") not in self.registered
        }
        if theirs:
            listed = ", ".join(f"{n} (deployment {d})" for n, d in sorted(theirs.items()))
            raise BadInput(
                f"the server at {self.admin_url} already has {listed}, which this run did not "
                "register: a run against a server it does not own never replaces a service. "
                "Remove them (restate deployments remove ID), or aim the run at another server"
            )
        new = [s for s in found if s not in self.services]
        if new:  # what an earlier run left of these services would read as this run's
            held = await self.admin.leftovers(new)
            if held:
                raise BadInput(
                    f"the server at {self.admin_url} holds {held} of {', '.join(new)} from "
                    "before this run (an earlier run that could not clean up?): the run "
                    "would read them as its own. Purge them, or aim the run at another server"
                )
        self.services.update(found)

    def registered_by_run(self, deployment: str) -> None:
        self.registered.append(deployment)

    async def wait_known(self, services: list[str]) -> float:
        return 0.0

    def describe(self) -> dict[str, Any]:
        return {"external": {"admin": self.admin_url, "ingress": self.ingress_url}}

    async def close(self) -> None:
        """Leave the server as the run found it (its verdicts are made by now, from what
        was dumped): its invocations killed where unfinished and purged (their journals and
        idempotency keys), the state of its services' keys cleared, its deployments
        removed. Then the HTTP session."""
        # the server went away: nothing of the run's is left on it to remove
        with contextlib.suppress(AdminError, aiohttp.ClientError, OSError):
            if self.services:
                await self.admin.clean_up(sorted(self.services))
            for deployment in reversed(self.registered):
                await self.admin.remove_deployment(deployment)
        await self.admin.close()
