"""Faults on the world's webhook deliveries (target "world"): a delivery made twice,
late, or two of one key in the wrong order. Armed at the world, which carries them out."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from harness.nemesis.kinds import kind

if TYPE_CHECKING:
    from harness.nemesis.nemesis import Nemesis, Shot

# seconds between asks whether the world applied an armed delivery fault (it records when,
# itself): six faults waiting a whole run must not load a 2-core machine with requests
DELIVERY_POLL = 0.25


async def inject(nem: Nemesis, shot: Shot) -> None:
    """A delivery fault, armed at the world for the next planned webhook delivery it
    fits: landed when the world applied it within `within_s`, else disarmed and
    recorded as missed. Nothing to undo: the world carries out the changed deliveries."""
    i, fault, progress, event, queued = shot
    assert nem.events is not None
    args = {**kind(fault.kind).args, **(fault.args or {})}
    what = {"fault": i, "kind": fault.kind, "target": fault.target, "args": args}
    nem.injected += 1
    t0 = time.monotonic()
    await nem.events.arm_delivery(i, fault.kind, args)
    applied = None
    while (
        applied is None
        and time.monotonic() - t0 < args["within_s"]
        and not nem.workload_done.is_set()
    ):
        await asyncio.sleep(DELIVERY_POLL)
        applied = await nem.events.delivery_fault(i)
    if applied is None:
        applied = await nem.events.delivery_fault(i, disarm=True)
    aim = nem.aim(fault, progress, event, queued)
    aim["armed_ms"] = round((time.monotonic() - t0) * 1000, 1)
    if applied is not None:
        aim.update(landed=True, world_key=applied["key"])
        aim.pop("missed", None)
    else:
        fits = "key with two or more planned" if fault.kind == "reorder-delivery" else ""
        of = f" of {args['key']}" if args.get("key") else ""
        until = (
            "before the workload ended"
            if nem.workload_done.is_set()
            else f"within {args['within_s']:g} s"
        )
        aim.update(
            landed=False,
            missed=f"no {fits or 'planned'} webhook deliver{'ies' if fits else 'y'}{of} "
            f"came {until}",
        )
    nem.record("fault-start", **what, **aim)
    nem.record("fault-end", **what, ready_after=0.0)
