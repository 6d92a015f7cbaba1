"""The history: an append-only JSONL journal of client operations and faults.

One line per event, flushed as it is written, so a crash of the harness keeps the evidence.
Operation events: `invoke`, then exactly one of `ok` | `fail` | `info` (outcome unknown: the
request may or may not have taken effect). Fault events: `fault-start` / `fault-end`.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

OUTCOMES = ("ok", "fail", "info")


class History:
    def __init__(self, path: Path, t0: float | None = None):
        self.path = path
        self.t0 = time.monotonic() if t0 is None else t0
        self._file: TextIO = open(path, "a", buffering=1)  # noqa: SIM115 - closed in close()
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
        self._file.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
        return record

    def close(self) -> None:
        self._file.close()


def read(path: Path) -> list[dict[str, Any]]:
    """All records; a torn last line (the harness died mid-write) is skipped."""
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return out


@dataclass
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
