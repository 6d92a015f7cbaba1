"""The run's horizon: what was observed ends when the run read Restate's state after the
quiesce (run.json `observed_until`). A timer, scheduled call or delayed send due after it
was not exercised: checkers count it as due after the run, never as missed or stuck."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def observed_until(manifest: dict[str, Any]) -> float | None:
    """Wall time the run's observation ended (None for runs recorded before it was)."""
    value = manifest.get("observed_until")
    return float(value) if value is not None else None


def after_run(due: float, until: float | None) -> bool:
    return until is not None and due > until


def due_in(seconds: float) -> str:
    """A duration as people say it: "23 h 59 min", "4 min 10 s", "12 s"."""
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60} min"
    if s >= 60:
        return f"{s // 60} min {s % 60} s"
    return f"{s} s"


def later_summary(
    count: int, total: int, dues: Iterable[float], until: float | None, what: str
) -> str:
    """ "; 3 of 150 timers are due after the run (the first in 23 h 59 min): not judged",
    to end a verdict's summary with (empty when nothing is due after the run)."""
    if not count or until is None:
        return ""
    first = min(dues, default=until) - until
    return (
        f"; {count} of {total} {what} are due after the run (the first in {due_in(first)}): "
        "not judged"
    )
