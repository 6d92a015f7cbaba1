"""Faults on a process (the server, a node, a service): kill -9, a graceful stop, a pause.
Each is undone after its downtime (restarted on the same port and data, or resumed); a
cluster node's failover is measured while it is down."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.nemesis.nemesis import Nemesis, Shot

FAILOVER_PROBE_EVERY = 0.2  # seconds between probes whether the cluster failed over


async def inject(nem: Nemesis, shot: Shot) -> None:
    i, fault, progress, event, queued = shot
    target, struck = nem.struck(fault, event)
    aim = {**nem.aim(fault, progress, event, queued), **struck}
    if fault.target in nem.roles:
        aim["role"] = nem.roles[fault.target]
    nem.record("fault-start", fault=i, kind=fault.kind, target=fault.target, **aim)
    began = time.monotonic()
    nem.injected += 1
    nem.in_force.add(i)
    measured: dict[str, float | None] = {}
    try:
        if fault.kind == "kill":
            await target.kill()
        elif fault.kind == "stop":
            await target.stop()
        else:
            target.pause()
        if nem.roles.get(fault.target) == "node" and nem.serves_without is not None:
            measured["failover_s"] = await failover(nem, fault, began)
        await asyncio.sleep(max(0.0, began + fault.downtime - time.monotonic()))
        if fault.kind == "pause":
            target.resume()
            ready = 0.0
        else:
            # until it serves again (a server: every partition has a leader); what the
            # start measured besides (a server: when its process was up)
            ready = await target.start()
            measured.update({k.replace("_s", "_after"): v for k, v in target.last_start.items()})
    finally:
        nem.in_force.discard(i)
    # ready_after: from the restart to serving; unavailable_s: from the fault to serving
    nem.record(
        "fault-end",
        fault=i,
        kind=fault.kind,
        target=fault.target,
        ready_after=round(ready, 3),
        unavailable_s=round(time.monotonic() - began, 3),
        **measured,
    )


async def failover(nem: Nemesis, fault: Any, began: float) -> float | None:
    """Seconds from the fault until the cluster served every partition without the
    node (probed every FAILOVER_PROBE_EVERY s through another node), or None if it did not
    before the node's downtime ended."""
    assert nem.serves_without is not None
    while time.monotonic() - began < fault.downtime:
        if await nem.serves_without(fault.target):
            return round(time.monotonic() - began, 3)
        await asyncio.sleep(FAILOVER_PROBE_EVERY)
    return None
