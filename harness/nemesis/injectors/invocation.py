"""Operator actions on one invocation in flight, through Restate's Admin API, as an
operator or a runbook would take them: cancel it (its handler must roll back: a saga runs
its compensations). The plan names the service (and may name the handler or the business
key); the invocation struck is the oldest one of them in flight that has started (a
journal entry or more), else the oldest in flight, never one this run already acted on;
none in flight is a miss, recorded as such. (Pause and resume: Restate 1.7.12 lets a
running invocation that is paused complete its attempt, so on the bundled services' short
invocations a pause did nothing one could judge; it waits for a scenario with long waits
and a control of its own.)"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import aiohttp

from harness.errors import HarnessError

if TYPE_CHECKING:
    from harness.nemesis.nemesis import Nemesis, Shot
    from harness.runtime.admin import AdminClient

# states of an invocation an operator can act on: under way, or waiting to run or retry
ACTIONABLE = ("pending", "ready", "running", "suspended", "backing-off")
TRIES = 5  # candidates tried, in order, when the first completed before the action
# seconds an action may wait for the Admin API: a server that is down (its own fault)
# does not answer, and the action is recorded as missed instead of waiting for it
ACT_WITHIN = 5.0


class Operator:
    """The Admin API as the operator faults use it, for the run's services (their
    scenario names -> the Restate services each registered)."""

    def __init__(self, admin: AdminClient, services: dict[str, list[str]]):
        self.admin = admin
        self.services = services
        # invocations already acted on: a second cancel of one is another fault, not aimed
        self.acted: set[str] = set()

    async def in_flight(
        self, target: str, handler: str | None, key: str | None
    ) -> list[dict[str, Any]]:
        names = self.services.get(target, [])
        if not names:
            return []
        states = ", ".join(f"'{s}'" for s in ACTIONABLE)
        where = f"status IN ({states})"
        if handler:
            where += f" AND target_handler_name = '{handler}'"
        if key:
            where += f" AND target_service_key = '{key.replace(chr(39), chr(39) * 2)}'"
        rows = [r for r in await self.admin.invocations(names, where) if r["id"] not in self.acted]
        # started ones first (a journal to roll back), then the oldest
        return sorted(rows, key=lambda r: (not r.get("journal_size"), str(r.get("created_at"))))

    async def cancel(self, invocation: str) -> None:
        """Cancel the invocation (Admin API); an AdminError says why Restate refused."""
        await self.admin.cancel(invocation)
        self.acted.add(invocation)


async def inject(nem: Nemesis, shot: Shot) -> None:
    i, fault, progress, event, queued = shot
    assert nem.operator is not None, "operator faults need the server's Admin API"
    args = dict(fault.args or {})
    what = {"fault": i, "kind": fault.kind, "target": fault.target}
    if args:
        what["args"] = args
    nem.injected += 1
    try:
        rows = await nem.operator.in_flight(fault.target, args.get("handler"), args.get("key"))
    except (HarnessError, aiohttp.ClientError, OSError) as e:  # the server is down: no aim
        rows, why = [], f"Restate did not answer which invocations were in flight ({e})"
    else:
        why = f"no invocation of {fault.target} was in flight"
    aim = nem.aim(fault, progress, event, queued)
    if not rows:
        aim.update(landed=False, missed=why)
        nem.record("fault-start", **what, **aim)
        nem.record("fault-end", **what, ready_after=0.0)
        return
    began, refused = time.monotonic(), []
    for row in rows[:TRIES]:  # one may complete between the query and the action: the next
        try:
            # the server may go down under it (a fault of its own): no answer is a refusal
            async with asyncio.timeout(ACT_WITHIN):
                await nem.operator.cancel(row["id"])
            break
        except (HarnessError, aiohttp.ClientError, OSError, TimeoutError) as e:
            refused.append(f"{type(e).__name__}: {e}"[:300])
    else:
        aim.update(landed=False, missed=f"Restate refused the cancel: {refused[-1]}")
        nem.record("fault-start", **what, **aim, refused=len(refused))
        nem.record("fault-end", **what, ready_after=0.0)
        return
    struck = {
        "invocation": row["id"], "invocation_target": row.get("target"),
        "invocation_key": row.get("target_service_key"), "invocation_status": row["status"],
        "journal_size": row.get("journal_size"),
    }  # fmt: skip
    if refused:  # completed meanwhile: the next one in line was struck
        struck["refused"] = len(refused)
    aim["landed"] = True
    nem.record("fault-start", **what, **aim, **struck)
    nem.record("fault-end", **what, ready_after=0.0, acted_s=round(time.monotonic() - began, 3))
