"""Faults on the path from the server to a service, through the run's proxy
(harness/network/proxy.py): conditions held for a downtime (latency, blackhole, slow
close), cuts that act at once (resets of streams or connections), and the failure of the
Nth invocation attempt from now."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from harness.nemesis.faults import NETWORK_KINDS, conditions

if TYPE_CHECKING:
    from harness.nemesis.nemesis import Nemesis, Shot


async def inject(nem: Nemesis, shot: Shot) -> None:
    """A network fault on the path to `fault.target`, through the proxy. A reset acts
    at once; fail-nth arms the proxy and acts (is recorded) when the Nth attempt
    comes, or is recorded as missed when none came within `downtime`; the others set
    conditions on the path for `downtime` seconds."""
    i, fault, progress, event, queued = shot
    link = nem.links[fault.target]
    what = {"fault": i, "kind": fault.kind, "target": fault.target}
    if fault.args:
        what["args"] = fault.args
    if fault.target in nem.versions:  # the path to the newest version
        what["version"] = nem.versions[fault.target][-1][0]
    nem.injected += 1
    if fault.kind in ("reset", "reset-connections"):
        scope = "connections" if fault.kind == "reset-connections" else "streams"
        answer = await link.reset(scope)
        aim = nem.aim(fault, progress, event, queued, answer["before"])
        nem.record("fault-start", **what, **aim, reset=answer.get(scope, 0))
        nem.record("fault-end", **what, ready_after=0.0)
        return
    if fault.kind == "fail-nth":
        nth = int((fault.args or {}).get("nth", NETWORK_KINDS["fail-nth"]["nth"]))
        answer = await link.fail_nth(nth)
        goal, t0 = answer["before"]["attempts"] + nth, time.monotonic()
        now = answer["before"]
        while now["attempts"] < goal and time.monotonic() - t0 < fault.downtime:
            await asyncio.sleep(0.01)
            now = await link.stats()
        if now["attempts"] < goal:
            await link.fail_nth(None)
        aim = nem.aim(fault, progress, event, queued, now)
        aim["landed"] = now["attempts"] >= goal
        if not aim["landed"]:
            aim["missed"] = f"no {nth}th invocation attempt came within {fault.downtime:g} s"
        aim["armed_ms"] = round((time.monotonic() - t0) * 1000, 1)
        nem.record("fault-start", **what, **aim)
        nem.record("fault-end", **what, ready_after=0.0)
        return
    answer = await link.set(**conditions(fault))
    aim = nem.aim(fault, progress, event, queued, answer["before"])
    if fault.kind == "slow-close":  # the close the server learns of late
        aim["reset"] = (await link.reset("service-side"))["connections"]
    nem.record("fault-start", **what, **aim)
    nem.in_force.add(i)
    try:
        await asyncio.sleep(fault.downtime)
    finally:
        nem.in_force.discard(i)
        healed = await link.set()
    attempts = healed["before"]["attempts"] - answer["before"]["attempts"]
    nem.record("fault-end", **what, ready_after=0.0, attempts_during=attempts)
