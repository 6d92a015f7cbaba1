"""The history: an append-only JSONL journal of client operations and faults.

One line per event, flushed as it is written (during the chaos phase: every 0.1 s and at every
fault), so a crash of the harness keeps the evidence.
Operation events: `invoke`, then exactly one of `ok` | `fail` | `info` (outcome unknown: the
request may or may not have taken effect). Fault events: `fault-start` / `fault-end`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

OUTCOMES = ("ok", "fail", "info")


FLUSH_EVERY = 0.1  # seconds: what a kill -9 of the harness can lose of a buffered history


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSONL line; what JSON cannot hold is written as its str()."""
    return orjson.dumps(
        record, default=str, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
    )


class History:
    """Each line is written through at once, except inside `buffered()` (the chaos phase),
    where lines are flushed every FLUSH_EVERY seconds and at every fault: one write per
    line would cost the driver a system call per request."""

    def __init__(self, path: Path, t0: float | None = None):
        self.path = path
        self.t0 = time.monotonic() if t0 is None else t0
        self._file: BinaryIO = open(path, "ab", buffering=1 << 16)  # noqa: SIM115 - see close()
        self._write_through = True
        self._op_ids = itertools.count(1)
        # one-way requests sent (ingress /send, Kafka events): their invocations may appear
        # after the client's call returned, so quiescence waits for them to settle
        self.one_way = 0

    def next_op(self) -> int:
        """A run-unique operation id (all clients of a run share the history)."""
        return next(self._op_ids)

    def now(self) -> float:
        return round(time.monotonic() - self.t0, 6)

    def append(self, type_: str, **fields: Any) -> dict[str, Any]:
        record = {"type": type_, "t": self.now(), "wall": round(time.time(), 6), **fields}
        self._file.write(encode_line(record))
        if self._write_through:
            self._file.flush()
        return record

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    @contextlib.asynccontextmanager
    async def buffered(self, every: float = FLUSH_EVERY) -> AsyncIterator[None]:
        """Buffer lines within, flushing every `every` seconds and on the way out."""

        async def flusher() -> None:
            while True:
                await asyncio.sleep(every)
                self.flush()

        self._write_through = False
        task = asyncio.create_task(flusher())
        try:
            yield
        finally:
            task.cancel()
            self._write_through = True
            self.flush()

    def close(self) -> None:
        self._file.close()


READ_BATCH = 5000  # lines parsed as one JSON array: see read()


def read(path: Path) -> list[dict[str, Any]]:
    """All records; a torn line (the harness died mid-write) is skipped. Memory is what a
    100k-operation soak's checks are bound by, so lines are parsed READ_BATCH at a time as
    one JSON array (the parser then shares one string per field name across the batch)
    and equal string values (service, handler, key, outcome) are shared across records:
    together a third less than a parse per line, without the whole file in memory."""
    out: list[dict[str, Any]] = []
    strings: dict[str, str] = {}
    with path.open("rb") as f:
        while batch := [line for line in itertools.islice(f, READ_BATCH) if line.strip()]:
            try:
                records = json.loads(b"[" + b",".join(batch) + b"]")
            except json.JSONDecodeError:
                records = [r for r in map(_parse_line, batch) if r is not None]
            out += share_strings(records, strings)
    return out


def share_strings(
    rows: list[dict[str, Any]], strings: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """`rows`, with equal top-level string values made one object (through `strings`)."""
    strings = {} if strings is None else strings
    for r in rows:
        for k, v in r.items():
            if type(v) is str:
                r[k] = strings.setdefault(v, v)
    return rows


SMALL_ROW = 4  # fields


def share_equal(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows`, with equal small rows of plain values made one object: a soak's 100k slimmed
    invocation rows (status, journal size) are a few distinct ones, 18 MB as separate dicts.
    Rows of more than `SMALL_ROW` fields are kept as they are. Readers must not change a row."""
    seen: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    out = []
    for r in rows:
        try:
            out.append(seen.setdefault(tuple(r.items()), r) if len(r) <= SMALL_ROW else r)
        except TypeError:  # a list or dict value
            out.append(r)
    return out


def _parse_line(line: bytes) -> dict[str, Any] | None:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def wall_at_start(records: list[dict[str, Any]]) -> float:
    """The wall-clock time of the history's t = 0 (the world's ledger keeps wall times)."""
    return next((r["wall"] - r["t"] for r in records if "wall" in r), 0.0)


def never_sent(outcome: dict[str, Any]) -> bool:
    """An outcome record of a request that never left the client (its connection refused,
    workload/client.py: error "connect: ..."), so surely not applied and not an answer."""
    return str(outcome.get("error") or "").startswith("connect:")


@dataclass(slots=True)  # a 100k-operation soak makes 100k of them, per checker
class Completed:
    """An operation joined with its outcome (`info` when it never completed)."""

    op: int
    outcome: str
    invoke: dict[str, Any]
    result: dict[str, Any] | None

    @property
    def idem(self) -> str | None:
        return self.invoke.get("idem")

    @property
    def key(self) -> str | None:
        return self.invoke.get("key")

    @property
    def told_failed(self) -> bool:
        """The service answered a failure (a terminal error through Restate), not the
        client's own (a refused connection: nothing was sent)."""
        return self.outcome == "fail" and not never_sent(self.result or {})

    @property
    def latency(self) -> float | None:
        return None if self.result is None else self.result["t"] - self.invoke["t"]


def operations(records: list[dict[str, Any]]) -> Iterator[Completed]:
    """Pair each invoke with its outcome; an invoke without one counts as `info`."""
    outcomes = {r["op"]: r for r in records if r["type"] in OUTCOMES}
    for r in records:
        if r["type"] == "invoke":
            done = outcomes.get(r["op"])
            yield Completed(r["op"], done["type"] if done else "info", r, done)


def faults(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["type"].startswith("fault-")]


def common_failures(records: list[dict[str, Any]], top: int = 5) -> list[dict[str, Any]]:
    """The most common reasons operations failed (`fail`) or got no answer (`info`), with
    the handler they came from: what a person looks at first when a run went wrong."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for o in operations(records):
        if o.outcome in ("fail", "info") and o.result is not None:
            error = str(o.result.get("error") or "?").splitlines()[0]
            error = re.sub(r"inv_\w+", "inv_...", error)[:200]
            target = f"{o.invoke.get('service')}/{o.invoke.get('handler')}"
            counts[(o.outcome, target, error)] += 1
    return [
        {"count": n, "outcome": outcome, "target": target, "error": error}
        for (outcome, target, error), n in counts.most_common(top)
    ]


def request_spans(
    records: list[dict[str, Any]], retried_only: bool = False, failures_answer: bool = False
) -> dict[Any, list[float | None]]:
    """Per request (its idempotency key, else its operation; retries belong to it):
    [its first attempt's t, its first answer's t or None]. An answer is an `ok`, and with
    `failures_answer` also a `fail` that was sent (not a refused connection). With
    `retried_only`, only requests with an idempotency key (the client retries those until
    answered), and not the preflight's probes."""
    spans: dict[Any, list[float | None]] = {}
    invokes = {r["op"]: r for r in records if r["type"] == "invoke"}
    answers = ("ok", "fail") if failures_answer else ("ok",)
    for r in records:
        if r["type"] == "invoke":
            if retried_only and (not r.get("idem") or r.get("preflight")):
                continue
            spans.setdefault(r.get("idem") or ("op", r["op"]), [r["t"], None])
        elif r["type"] in answers and r["op"] in invokes:
            if never_sent(r):
                continue  # not an answer
            inv = invokes[r["op"]]
            span = spans.get(inv.get("idem") or ("op", r["op"]))
            if span is not None and span[1] is None:
                span[1] = r["t"]
    return spans


def recovery(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per fault that was undone: seconds from the process being back (its fault-end) to
    the first answer of a request that was in flight when the fault began (a request is its
    idempotency key, else its operation; retries belong to it). None when no such request
    was answered; `cut_short` names the next fault when one began (on any target) before
    that answer: the time is then that fault's too, not this one's recovery."""
    spans = request_spans(records)
    answered = sorted((end, start) for start, end in spans.values() if end is not None)
    starts = {r["fault"]: r for r in records if r["type"] == "fault-start"}
    start_times = sorted((r["t"], r["fault"]) for r in starts.values())
    out = []
    for end in (r for r in records if r["type"] == "fault-end"):
        began = starts.get(end.get("fault"), {}).get("t", end["t"])
        later = itertools.islice(
            answered, bisect.bisect_right(answered, (end["t"], math.inf)), None
        )
        first = next((a for a, s in later if s < began), None)  # the earliest answer
        entry = {
            "fault": end.get("fault"),
            "kind": end["kind"],
            "target": end["target"],
            "after": None if first is None else round(first - end["t"], 3),
        }
        i = bisect.bisect_right(start_times, (end["t"], math.inf))
        if first is not None and i < len(start_times) and start_times[i][0] < first:
            entry["cut_short"] = start_times[i][1]
        out.append(entry)
    return out


def node_recovery(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per kill (or stop) of a cluster node: seconds from the kill until every request in
    flight at that moment had its first answer (a success or an error the system answered;
    not a refused connection). The cluster serves on while the node is
    down; the requests whose partitions the node led wait for a new leader and finish last,
    so this is the time until the work the node owned completed (Restate's SQL has no
    partition leaders to name them by). Requests with an idempotency key only: the client
    retries those until answered; one without (a read) whose answer a kill lost is not
    retried. `unanswered` counts those never answered."""
    spans = request_spans(records, retried_only=True, failures_answer=True)
    out = []
    for f in records:
        if f["type"] != "fault-start" or f.get("role") != "node" or f["kind"] == "pause":
            continue
        t = f["t"]
        waiting = [end for start, end in spans.values() if start < t and (end is None or end > t)]
        answered = [end for end in waiting if end is not None]
        out.append(
            {
                "fault": f["fault"],
                "target": f["target"],
                "in_flight": len(waiting),
                "unanswered": len(waiting) - len(answered),
                "after": round(max(answered) - t, 3) if answered else None,
            }
        )
    return out


def recovery_summary(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Recovery per fault kind ("kill server", "kill service", ...): how many faults, and
    p50 / p99 seconds from process back to the first in-flight request answered, over the
    faults whose recovery no other fault cut short (those are counted apart)."""
    groups: dict[str, list[float]] = {}
    cut: Counter[str] = Counter()
    roles = {r["fault"]: r.get("role") for r in records if r["type"] == "fault-start"}
    for r in recovery(records):
        role = roles.get(r["fault"]) or ("server" if r["target"] == "server" else "service")
        what = f"{r['kind']} {role}"
        if "cut_short" in r:
            cut[what] += 1
        elif r["after"] is not None:
            groups.setdefault(what, []).append(r["after"])
    return {
        k: {
            "n": len(groups.get(k, [])),
            "p50": percentile(groups[k], 50) if k in groups else None,
            "p99": percentile(groups[k], 99) if k in groups else None,
            "cut_short": cut[k],
        }
        for k in sorted({*groups, *cut})
    }


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def failed_subjects(ops: Iterable[tuple[str, Completed]]) -> dict[str, str]:
    """Subjects (a business key, a token) every request of which was answered with a
    failure the service sent, each with its first such error. A request is its idempotency
    key, whose retries are one invocation: its answer is its definite one (a failure after
    a timed-out attempt is a failure; `ok` beside a failure is `ok`), unknown without one.
    A request the client never sent (its connections refused) does not count."""
    answers: dict[tuple[str, str], set[str]] = defaultdict(set)
    errors: dict[str, str] = {}
    for subject, o in ops:
        if o.outcome == "fail" and not o.told_failed:
            continue
        answers[(subject, o.idem or str(o.op))].add(o.outcome)
        if o.told_failed:
            errors.setdefault(subject, str((o.result or {}).get("error"))[:120])
    failed = {s for s, _ in answers if s in errors}
    for (subject, _), got in answers.items():
        if "ok" in got or "fail" not in got:
            failed.discard(subject)
    return {s: errors[s] for s in sorted(failed)}
