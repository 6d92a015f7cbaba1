"""Faults on a service's deployment: an upgrade to a new version while the old one's
invocations are in flight (harness/nemesis/upgrade.py carries it out)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.nemesis.nemesis import Nemesis, Shot


async def inject(nem: Nemesis, shot: Shot) -> None:
    """A new version of the service (Upgrader.upgrade), switched to once the old version
    has an invocation in flight; from then on the service's faults act on the new
    version and its path. One that found no work before the workload ended is
    recorded as missed."""
    i, fault, progress, event, queued = shot
    assert nem.upgrade is not None, "upgrade faults need an Upgrader"
    what = {"fault": i, "kind": fault.kind, "target": fault.target, "args": fault.args}
    nem.injected += 1
    nem.in_force.add(i)
    try:
        done, process, link = await nem.upgrade(
            fault.target, dict(fault.args or {}), nem.workload_done
        )
    finally:
        nem.in_force.discard(i)
    aim = nem.aim(fault, progress, event, queued)  # at the switch
    if "missed" in done:
        aim.update(landed=False, missed=done["missed"])
    elif not done.get("pinned_at_switch"):
        aim.update(landed=False, missed="the old version's invocations had all completed "
                   "by the switch")  # fmt: skip
    else:
        aim["landed"] = True
    nem.record("fault-start", **what, **aim)
    if "missed" in done:
        nem.record("fault-end", **what, ready_after=0.0)
        return
    old = nem.versions.get(fault.target) or [(1, nem.targets[fault.target])]
    nem.versions[fault.target] = [*old, (done["version"], process)]
    nem.targets[fault.target] = process
    if link is not None:
        nem.links[fault.target] = link
    nem.record("fault-end", **what, **{"ready_after": 0.0, **done})
