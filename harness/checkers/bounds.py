"""How late a durable timer may fire, measured from the run itself, never a constant.

A timer fires late when Restate or the service could not run it when it came due. The run
measures what explains that:

- **unavailability**: from each fault's start until its target served again (the history's
  fault-start and fault-end records; a server serves again when every partition has a
  leader, harness/runtime/serving.py). Faults on different targets overlap and chain, so
  their union is taken.
- **retry**: after each fault the invocation waits for its next attempt, at most the retry
  policy's max interval (run.json's server config), once per fault the wait spanned.
- **catch-up**: the work that came due during an outage runs in one burst once the target
  serves again (a server restart releases every timer due meanwhile). That backlog built
  up for as long as the outage and drains as fast as the machine lets it: allowed for the
  outage's length again, stretched by how starved the machine was then (x (1 + w), w the
  mean share of time some task waited for a CPU around the fault: Linux PSI in the `lag`
  records; 1 where the kernel does not say). A timer due during an outage or its catch-up
  may fire as late as the catch-up's end; chained faults push that further (seen on a
  2-core machine with both cores kept busy: w 0.7, tasks due 1.4 s after a 1.3 s outage
  still in its burst, 0.2 s late).
- **baseline**: what this machine, under this load, adds to any timer: the latest that a
  timer no fault touched in its whole life fired, and at least the 99th percentile of the
  run's answered requests that no fault touched (a timer that fires runs an invocation,
  as a request does), both from the same run.
- **noise**: the harness's own worst event-loop lag in the run (harness/selfwatch.py): how
  late a process that wanted to run got to, on this machine under this load (seen on a
  busy 2-core machine: a task 0.07 s late, no fault near it, the baseline 0.02 s from a
  quieter part of the run, the worst lag 0.15 s).

A timer may fire late by (the end of the last outage and catch-up that touched it - the
moment a fault could first delay it) + k * retry + baseline + noise, where that moment is
its due time (for a step that sets the next one, that step) and k the number of faults
whose outage or catch-up touched [that moment, when it fired]. Beyond that
it is violated, unless the harness itself was stalled in that window for at least the
excess: its event loop's worst lag there (the `lag` records, harness/selfwatch.py) could
explain it, so the answer is unknown with the figures, never violated. Without a timer or
a request free of faults the run measured no baseline, and a timer late beyond the faults'
share is unknown too.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from harness.selfwatch import TICK
from harness.workload.history import percentile

DEFAULT_RETRY_S = 0.25  # RetryPolicy's max interval, where run.json does not say


@dataclass(frozen=True)
class Span:
    start: float  # wall clock
    end: float
    what: str  # "kill -9 of server (fault 3)"
    catch_up: float = 0.0  # seconds after `end` its backlog may still drain

    @property
    def outage(self) -> float:
        return self.end - self.start


def unavailability(records: list[dict[str, Any]]) -> list[Span]:
    """Per fault: from its start to its end record (written once the target serves again;
    a fault never undone lasts to the end of the history)."""
    from harness.nemesis.faults import describe

    starts = {r["fault"]: r for r in records if r["type"] == "fault-start" and "fault" in r}
    ends = {r["fault"]: r for r in records if r["type"] == "fault-end" and "fault" in r}
    last = max((r["wall"] for r in records if "wall" in r), default=0.0)
    waits = [(r["wall"], r["cpu_wait"]) for r in records if r["type"] == "lag" and "cpu_wait" in r]
    spans = []
    for i, s in starts.items():
        start, end = s["wall"], ends[i]["wall"] if i in ends else last
        # how starved the machine was from the fault until its backlog could have drained
        around = [w for at, w in waits if start <= at <= 2 * end - start + 1.0]
        starved = sum(around) / len(around) if around else 1.0  # unknown: the worst
        what = f"{describe(s['kind'], s['target'])} (fault {i})"
        spans.append(Span(start, end, what, (end - start) * (1 + starved)))
    return sorted(spans, key=lambda s: (s.start, s.end))


def union_within(spans: list[Span], a: float, b: float) -> float:
    """Seconds of [a, b] covered by at least one span."""
    total, covered_to = 0.0, a
    for s in spans:
        if s.start >= b:
            break
        lo, hi = max(s.start, covered_to), min(s.end, b)
        if hi > lo:
            total += hi - lo
            covered_to = hi
    return total


def retry_interval(manifest: dict[str, Any]) -> float:
    """The retry policy's max interval, in seconds, from run.json's server config."""
    raw = str(manifest.get("server_config", {}).get("retry", {}).get("max_interval", ""))
    for unit, scale in (("ms", 0.001), ("s", 1.0)):
        if raw.endswith(unit) and raw[: -len(unit)].replace(".", "", 1).isdigit():
            return float(raw[: -len(unit)]) * scale
    return DEFAULT_RETRY_S


@dataclass(frozen=True)
class Judged:
    """One late timer's judgement: `valid` True (within its bound), False, or "unknown"."""

    valid: bool | str
    bound: float  # seconds of lateness allowed
    why: str  # how the bound was made, in words


class LatenessBounds:
    """The bounds of one run. `waits`: every timer's (set, fired, lateness), wall clock:
    the baseline is the lateness of those no fault touched in their whole life (a timer
    that a fault restarted long before it was due is not free of faults, and must not
    lend its lateness to the baseline)."""

    def __init__(
        self,
        records: list[dict[str, Any]],
        manifest: dict[str, Any],
        waits: list[tuple[float, float, float]],
    ) -> None:
        self.spans = unavailability(records)
        self.retry = retry_interval(manifest)
        free = [late for set_at, fired, late in waits if not self.touching(set_at, fired)]
        self.free_waits = len(free)
        latencies = [b - a for a, b in answered_spans(records) if not self.touching(a, b)]
        self.free_requests = len(latencies)
        self.request_p99 = percentile(latencies, 99) if latencies else None
        found = [*free, *([self.request_p99] if latencies else [])]
        self.baseline = max([0.0, *found]) if found else None
        lags = [(r["wall"], r.get("max_ms", 0.0) / 1000) for r in records if r["type"] == "lag"]
        self._lag_walls = [w for w, _ in lags]
        self._lags = [lag for _, lag in lags]
        # a stall shorter than the watcher's tick goes unseen: its resolution is part of the
        # noise (a timer 0.00 s past a bound made of the seen stalls was called unknown)
        self.noise = max(self._lags, default=0.0) + (TICK if lags else 0.0)

    def touching(self, a: float, b: float) -> list[Span]:
        """The faults whose outage or catch-up after it overlaps [a, b]."""
        return [s for s in self.spans if s.start < b and s.end + s.catch_up > a]

    def lag_within(self, a: float, b: float) -> float:
        """The harness's worst event-loop lag (s) in the lag records covering [a, b]."""
        i = bisect.bisect_left(self._lag_walls, a)
        j = bisect.bisect_right(self._lag_walls, b + 1.0)  # a record covers the second before
        return max(self._lags[i:j], default=0.0)

    def judge(self, since: float, fired: float, late: float) -> Judged:
        """Whether a timer that fired at `fired`, `late` seconds after it was due, is within
        the run's measured bound; `since`: from when a fault could delay it (its due time,
        or the step that set it where a retry of that step would set it again)."""
        faults = self.touching(since, fired)
        # a timer due during an outage, or while the burst after it drains, may wait until
        # the drain ends; chained faults push that further
        until = max((f.end + f.catch_up for f in faults), default=since)
        bound, parts = max(0.0, until - since) + len(faults) * self.retry, []
        if faults:
            names = ", ".join(f.what for f in faults[:3]) + (", ..." if len(faults) > 3 else "")
            parts.append(
                f"{max(0.0, until - since):.2f}s until the outages and their catch-up ended + "
                f"{len(faults)} x {self.retry:g}s retry ({names})"
            )
        if self.baseline is None:
            parts.append("no baseline (no timer or request of the run was free of faults)")
        else:
            bound += self.baseline
            parts.append(f"{self.baseline:.2f}s baseline ({self._baseline_source()})")
        if self.noise:
            bound += self.noise
            parts.append(
                f"{self.noise:.2f}s noise (the harness's worst lag in the run and its tick)"
            )
        why = " + ".join(parts)
        if late <= bound:
            return Judged(True, bound, why)
        excess = late - bound
        lag = self.lag_within(since, fired)
        if self.baseline is None:
            return Judged("unknown", bound, why)
        if lag >= excess:
            return Judged(
                "unknown",
                bound,
                f"{why}; the harness itself was stalled {lag:.2f}s in this window, which "
                f"could explain the {excess:.2f}s over",
            )
        return Judged(False, bound, why)

    def _baseline_source(self) -> str:
        said = []
        if self.free_waits:
            said.append(f"the latest of {self.free_waits} timers no fault touched")
        if self.request_p99 is not None:
            said.append(
                f"p99 {self.request_p99:.2f}s of {self.free_requests} requests no fault touched"
            )
        return "; ".join(said)

    def describe(self) -> str:
        """The run's bound in words, for a verdict's summary."""
        base = (
            "no baseline"
            if self.baseline is None
            else f"{self.baseline:.2f}s baseline ({self._baseline_source()})"
        )
        return (
            f"until the outages and their catch-up ended + {self.retry:g}s retry per fault + "
            f"{base} + {self.noise:.2f}s noise"
        )

    def summary(self) -> dict[str, Any]:
        """How the bounds were made, for the verdict's stats."""
        return {
            "bound": "until the outages and their catch-up ended + faults x retry + baseline "
            "+ noise",
            "noise_s": round(self.noise, 3),
            "retry_s": self.retry,
            "baseline_s": None if self.baseline is None else round(self.baseline, 3),
            "waits_free_of_faults": self.free_waits,
            "requests_free_of_faults": self.free_requests,
            "request_p99_s": None if self.request_p99 is None else round(self.request_p99, 3),
            "faults": len(self.spans),
            "max_unavailable_s": round(max((s.outage for s in self.spans), default=0), 3),
            "max_catch_up_s": round(max((s.catch_up for s in self.spans), default=0), 3),
        }


def answered_spans(records: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(sent, answered) wall times of every attempt the server answered `ok`."""
    sent = {r["op"]: r["wall"] for r in records if r["type"] == "invoke"}
    return [(sent[r["op"]], r["wall"]) for r in records if r["type"] == "ok" and r["op"] in sent]
