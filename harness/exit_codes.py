"""The exit codes of `restate-chaos run` and `report`, declared once: the CLI's help, its
run status -> code mapping and the docs' table (docs/hooks.py) are made from EXITS."""

from __future__ import annotations

from typing import NamedTuple


class Exit(NamedTuple):
    code: int
    meaning: str  # a few words, for the CLI's help
    statuses: tuple[str, ...]  # the run statuses (results.json) that give this code
    detail: str = ""  # what falls under it, for the docs


EXITS: tuple[Exit, ...] = (
    Exit(0, "every guarantee held", ("passed",)),
    Exit(1, "a guarantee was violated", ("failed",)),
    Exit(
        2,
        "bad input",
        ("bad-input",),
        "a bad option value or an unknown option, an unknown scenario, an `--app` or "
        "`--adapter` for a service the scenario does not have, a scenario file that does not "
        "load, a preflight mismatch (a handler not registered, an answer the contract cannot "
        "read, a probe failing attempt after attempt), a service app that, at its first "
        "start, exits, raises at import, hangs (its processes use no CPU time for 10 s "
        "without listening) or listens but fails Restate's discovery (the message names the "
        "app and shows its log). A slow start is never bad input: one still using CPU is "
        "waited for up to 300 s (`RESTATE_CHAOS_START_TIMEOUT`), then the run is `crashed`",
    ),
    Exit(
        3,
        "the harness crashed, could not run (e.g. no binary) or was interrupted",
        ("crashed", "interrupted", "running"),
        "restate-server missing, a port in use, the world process died mid-run (stopped "
        "within 0.2 s, no verdict from its partial ledger), a full disk or read-only folder "
        "while writing a report (no traceback, no half-written file); interrupted by SIGINT, "
        "SIGTERM or SIGHUP, or its harness was killed (`report` of such a run); `report` of "
        "a run still under way",
    ),
    Exit(4, "inconclusive (unknown: the run exercised too little to decide)", ("unknown",)),
)
EXIT_CODES: dict[str, int] = {s: e.code for e in EXITS for s in e.statuses}
# a violation outranks bad input, which outranks a crash, which outranks an inconclusive run
PRIORITY = [1, 2, 3, 4, 0]


def help_text() -> str:
    """The CLI help's block."""
    return "\n".join(f"  {e.code} {e.meaning}" for e in EXITS)


def markdown_table() -> str:
    """The docs' table (docs/how-to/reports-and-ci.md)."""
    rows = ["| code | meaning | run status |", "| --- | --- | --- |"]
    for e in EXITS:
        meaning = e.meaning + (f": {e.detail}" if e.detail else "")
        statuses = ", ".join(f"`{s}`" for s in e.statuses if s != "running")
        rows.append(f"| {e.code} | {meaning} | {statuses} |")
    return "\n".join(rows)
