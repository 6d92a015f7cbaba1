"""Verdicts: what a checker concludes, with the evidence a person needs to believe it.

Every checker is wrapped by `checker`: a checker that raises gives an `unknown` verdict with
the traceback (Jepsen's check-safe) instead of losing every verdict of the run, and each
verdict gets a stable `id` ("exactly_once:charge") that tests and tools match on, never
the display sentence.
"""

from __future__ import annotations

import functools
import inspect
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, ParamSpec

Valid = Literal[True, False, "unknown"]
P = ParamSpec("P")


@dataclass
class Verdict:
    name: str  # the guarantee, e.g. "no lost or doubled increment"
    valid: Valid
    summary: str  # one plain sentence with the numbers
    stats: dict[str, Any] = field(default_factory=dict)
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    # durable waits (timers, awakeables) this guarantee rests on, [start, end] in wall-clock
    # seconds: the report draws them against the faults, to show kills inside a wait
    waits: list[list[float]] = field(default_factory=list)
    id: str = ""  # stable: the checker's name, plus its `op` ("exactly_once:charge")
    # violated, and every counterexample is a known upstream bug: which (checkers/known.py)
    known: str = ""
    # the likely cause, from evidence, in words a stakeholder reads (checkers/causes.py)
    cause: str = ""
    # the contract's assumptions about the service it rests on (RunData.assumed)
    assumes: dict[str, Any] = field(default_factory=dict)

    def resting_on(self, assumed: dict[str, Any]) -> Verdict:
        """This verdict, naming the assumptions it rests on (RunData.assumed)."""
        self.assumes = assumed
        return self

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def status_of(valid: Any) -> str:
    """A finished run's status from its combined verdict."""
    return {True: "passed", False: "failed"}.get(valid, "unknown")


def combine(verdicts: list[Verdict]) -> Valid:
    """false beats unknown beats true; no verdict at all is unknown, not a pass."""
    if not verdicts:
        return "unknown"
    if any(v.valid is False for v in verdicts):
        return False
    if any(v.valid == "unknown" for v in verdicts):
        return "unknown"
    return True


def judged(
    name: str,
    bad: list[dict[str, Any]],
    stats: dict[str, Any],
    violated: str,
    held: str,
    cause: str = "",
) -> Verdict:
    """The usual end of a checker: violated with its counterexamples when there are any
    (the `violated` summary and the likely `cause`), else held (the `held` summary)."""
    if bad:
        return Verdict(name, False, violated, stats, bad, cause=cause)
    return Verdict(name, True, held, stats)


def crashed(name: str, vid: str, what: str) -> Verdict:
    """The verdict of a check that raised: unknown, with the traceback as evidence."""
    tb = traceback.format_exc()
    last = tb.strip().splitlines()[-1]
    return Verdict(
        name,
        "unknown",
        f"{what} crashed, so this guarantee was not checked: {last}",
        {"crashed": True},
        [{"problem": f"{what} crashed: {last}", "traceback": tb[-6000:]}],
        id=vid,
    )


def checker(fn: Callable[P, Verdict]) -> Callable[P, Verdict]:
    """Make `fn` crash-safe and give its verdicts a stable id: the checker's name, plus its
    world operation (`op`) where it has one; a scenario that uses one checker twice on the
    same operation passes `id=...` to tell them apart."""
    sig = inspect.signature(fn)
    base = fn.__name__.removeprefix("check_")

    @functools.wraps(fn)
    def safe(*args: P.args, **kwargs: P.kwargs) -> Verdict:
        given = kwargs.pop("id", None)
        try:
            call = sig.bind(*args, **kwargs)
            call.apply_defaults()
            bound = dict(call.arguments)
        except TypeError:
            bound = {}
        op = bound.get("op")
        vid = str(given or base + (f":{op}" if isinstance(op, str) else ""))
        try:
            verdict = fn(*args, **kwargs)
        except Exception:
            name = bound.get("name") or getattr(sys.modules[fn.__module__], "NAME", vid)
            return crashed(str(name), vid, f"checker {fn.__name__}")
        verdict.id = verdict.id or vid
        return verdict

    return safe


@dataclass(frozen=True)
class Check:
    """One check of a scenario, computed on its own when the run is judged: whatever it
    does first (read final states through an adapter, derive what to expect) is inside it,
    so if that raises only this verdict is lost (unknown, with the traceback, under `id`)
    and the scenario's other checks still run. A scenario's `checks` returns these and
    plain verdicts alike."""

    id: str
    compute: Callable[[], Verdict]

    def verdict(self) -> Verdict:
        try:
            verdict = self.compute()
        except Exception:
            return crashed(self.id, self.id, f"the check {self.id!r}")
        verdict.id = verdict.id or self.id
        return verdict


def evaluate(checks: Callable[[Any], list[Verdict | Check]], data: Any) -> list[Verdict]:
    """A scenario's checks (each Check computed on its own) plus the findings every run
    gets (determinism, liveness), each crash-safe; ids made unique in order ("x", "x#2")."""
    from harness.checkers.causes import unrouted
    from harness.checkers.determinism import check_determinism
    from harness.checkers.horizon import observed_until
    from harness.checkers.liveness import check_liveness
    from harness.workload.history import common_failures

    try:
        items = list(checks(data))
    except Exception:
        items = [crashed("the scenario's checks", "checks", "the scenario's checks function")]
    verdicts = [item.verdict() if isinstance(item, Check) else item for item in items]
    verdicts += [
        check_determinism(data.invocations, data.journal, data.records),
        check_liveness(data.invocations, data.records, data.journal, observed_until(data.manifest)),
    ]
    if data.manifest.get("topology") == "cluster3":
        from harness.checkers.nodes import check_node_recovery

        verdicts.append(check_node_recovery(data.records, data.manifest))
    if data.manifest.get("upgrades"):
        from harness.checkers.upgrades import check_upgrades

        verdicts.append(check_upgrades(data.invocations, data.manifest["upgrades"]))
    failures = common_failures(data.records)
    not_mapped = unrouted(data.ledger)
    seen: Counter[str] = Counter()
    for v in verdicts:
        if v.valid is not True and failures:  # the first thing a person wants to know
            v.stats["common_failures"] = failures
        if v.valid is not True and not_mapped:  # a route missing is before any other cause
            v.cause = f"{not_mapped}; {v.cause}" if v.cause else not_mapped
        v.id = v.id or v.name
        seen[v.id] += 1
        if seen[v.id] > 1:
            v.id = f"{v.id}#{seen[v.id]}"
    return verdicts
