"""Preparing a run's fault plan before the chaos phase: pure functions of the scenario's
plan, the options and what the topology offers, tested without processes
(tests/test_plan.py).

The scenario's seeded plan (or the user's --plan) is scaled with --scale, its "server"
faults go to a node chosen by the seed on a cluster, and a fault after N requests stays as
far into a workload a --subset cut. What the harness cannot make (a URL deployment's
process, an upgrade of a container) is named with the reason, to be recorded as skipped.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

from harness.checkers.nodes import FAILOVER_ALLOWANCE
from harness.errors import BadInput
from harness.nemesis.faults import PROCESS_KINDS, Fault, scale_plan
from harness.workload.subset import key_of

CLUSTER_ATTEMPT_S = 5.0  # on a cluster, one attempt waits at most this long
MAX_RECORDED_KEYS = 10_000  # a soak's workload record names its keys up to this many


def prepare(
    faults: Sequence[Fault],
    *,
    seed: int,
    scale: int,
    generated: int,
    kept: int,
    given: list[Fault] | None = None,
    nodes: Sequence[str] = (),
) -> list[Fault]:
    """The plan the nemesis runs. `given`: the user's --plan, taken as it is (not scaled),
    else the scenario's `faults` scaled for a workload of `generated` requests. `nodes`: a
    cluster's node names, among which each "server" fault gets one chosen by the seed.
    `kept`: the requests a --subset kept of `generated`."""
    plan = list(given) if given is not None else scale_plan(list(faults), scale, generated)
    if nodes:  # no "server": a node chosen by the seed
        rng = random.Random(f"{seed}:nodes")
        plan = [
            dataclasses.replace(f, target=rng.choice(list(nodes))) if f.target == "server" else f
            for f in plan
        ]
    if kept < generated:  # a fault after N requests stays as far into the workload
        plan = [
            f
            if f.after_ops is None
            else dataclasses.replace(f, after_ops=f.after_ops * kept // generated)
            for f in plan
        ]
    return plan


def check_targets(plan: list[Fault], known: Collection[str], source: str) -> None:
    """A plan file that names a target the scenario does not have is bad input."""
    unknown = sorted({f.target for f in plan} - set(known))
    if unknown:
        raise BadInput(
            f"--plan {source}: no target {', '.join(unknown)} in this scenario; its targets "
            f"are {', '.join(sorted(known))}"
        )


def check_overrides(
    scenario: str, apps: Collection[str], started: Sequence[str], faults: Sequence[Fault]
) -> None:
    """An --app for a service the scenario does not start, or for a later version (NAME@N)
    of one its fault plan never upgrades N - 1 times, is bad input (a typo would otherwise
    test the bundled service and pass)."""
    named = {n.partition("@")[0] for n in apps}
    unknown = sorted(named - set(started))
    if unknown:
        raise BadInput(
            f"--app names {', '.join(map(repr, unknown))}, but scenario {scenario!r} "
            f"has no such service; its services: {', '.join(started) or 'none'}"
        )
    upgrades = Counter(f.target for f in faults if f.kind == "upgrade")
    for n in apps:
        service, _, version = n.partition("@")
        if version and int(version) > 1 + upgrades[service]:
            raise BadInput(
                f"--app {n}=...: scenario {scenario!r} upgrades {service!r} "
                f"{upgrades[service]} time(s) in its plan, so it never runs a version "
                f"{version}"
            )


def unrunnable(
    fault: Fault, remote: Collection[str], backend: str, owns_server: bool = True
) -> str | None:
    """Why the harness cannot make `fault`, if it cannot: a URL deployment's path can be
    faulted, not its process; only a process can be upgraded; a server the run does not
    own (--server-admin) is not the run's to kill."""
    if fault.target == "server" and not owns_server:
        from harness.runtime.external import WHY_NOT

        return WHY_NOT
    if fault.target in remote and fault.kind in (*PROCESS_KINDS, "upgrade"):
        return (
            f"{fault.target} is a URL deployment the harness does not run: it cannot be "
            "killed, stopped, paused or upgraded (the server still is faulted)"
        )
    if fault.kind == "upgrade" and backend == "docker":
        return f"{fault.target} runs as a container: only a process can be upgraded"
    return None


def client_limits(cluster: bool, timeout: float, retry_for: float) -> tuple[float, float]:
    """An attempt's timeout and how long a request is retried. On a cluster, a call an
    ingress forwarded to a killed partition leader hangs until the client's timeout:
    attempts give up within seconds and retries go on past Restate's own failover
    allowance, so the `nodes` finding measures the cluster, not the client's patience."""
    if not cluster:
        return timeout, retry_for
    return min(timeout, CLUSTER_ATTEMPT_S), max(
        retry_for, FAILOVER_ALLOWANCE + 2 * CLUSTER_ATTEMPT_S
    )


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
