"""Verdicts: what a checker concludes, with the evidence a person needs to believe it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Valid = Literal[True, False, "unknown"]


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

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


def combine(verdicts: list[Verdict]) -> Valid:
    """false beats unknown beats true; no verdict at all is unknown, not a pass."""
    if not verdicts:
        return "unknown"
    if any(v.valid is False for v in verdicts):
        return False
    if any(v.valid == "unknown" for v in verdicts):
        return "unknown"
    return True
