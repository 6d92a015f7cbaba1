"""Determinism: no invocation hit a journal mismatch. Needs no knowledge of the service's
API, so every run gets it.

A replay that takes another path than the journal recorded (state set from `datetime.now()`
or `random` outside `ctx.run`, a branch on the wall clock) makes the SDK fail the attempt
with error 570, "Journal mismatch"; Restate retries it for ever and its key stays blocked.
"""

from __future__ import annotations

from typing import Any

from harness.checkers.verdict import Verdict, checker
from harness.runtime.admin import journal_mismatch
from harness.workload.history import faults

NAME = "deterministic replay (no journal mismatch)"


def journal_of(journal: list[dict[str, Any]], invocation_id: str) -> list[dict[str, Any]]:
    return [j for j in journal if j.get("id") == invocation_id][:50]


def invocation_evidence(row: dict[str, Any], journal: list[dict[str, Any]]) -> dict[str, Any]:
    """What a person needs to see of one invocation: id, key, error, retries, journal."""
    return {
        "id": row.get("id"),
        "target": row.get("target"),
        "key": row.get("target_service_key"),
        "status": row.get("status"),
        "idempotency_key": row.get("idempotency_key"),
        "retry_count": row.get("retry_count"),
        "error": (row.get("last_failure") or "")[:2000],
        "journal": journal_of(journal, row.get("id", "")),
    }


def mismatch_cause(row: dict[str, Any]) -> str:
    """Where the replay left the journal: the command Restate names in the failure."""
    index = row.get("last_failure_related_command_index")
    if index is None:
        return (
            "the code took another path on replay than its journal recorded (its first "
            "differing command is not named by this Restate version)"
        )
    kind = row.get("last_failure_related_command_type") or "command"
    name = row.get("last_failure_related_command_name")
    failure = (row.get("last_failure") or "").splitlines()
    diff = (
        [x.strip() for x in failure[failure.index("- Difference:") + 1 :]][:3]
        if ("- Difference:" in failure)
        else []
    )  # the SDK's words: "name: upload != quota"
    return (
        f"replay of {row.get('target')} differed from its journal at command {index} "
        f"({kind}{f' {name!r}' if name else ''}"
        f"{'; the SDK: ' + ', '.join(diff) if diff else ''}): the code took "
        "another path there than it recorded (a value from the clock or random outside "
        "ctx.run, or new code on an old journal)"
    )


@checker
def check_determinism(
    invocations: list[dict[str, Any]],
    journal: list[dict[str, Any]] = (),  # type: ignore[assignment]
    records: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> Verdict:
    """`invocations`: sys_invocation rows after quiesce (a mismatched invocation never
    completes, so it is still there with its last failure). Unknown when no fault struck:
    then nothing was replayed and a mismatch could not show.

    Failed answers: not read: the verdict rests on Restate's invocations and journals.
    Amounts: none."""
    bad = [r for r in invocations if journal_mismatch(r)]
    stats = {"invocations": len(invocations), "journal_mismatches": len(bad)}
    if bad:
        keys = sorted({str(r.get("target_service_key") or r.get("target")) for r in bad})
        return Verdict(
            NAME,
            False,
            f"{len(bad)} invocation(s) hit a journal mismatch on replay (non-deterministic "
            f"code), wedging {len(keys)} key(s): {', '.join(keys[:5])}",
            stats,
            [
                {
                    "cause": mismatch_cause(r),
                    "problem": "journal mismatch on replay",
                    **invocation_evidence(r, journal),
                }
                for r in bad[:50]
            ],
            cause=mismatch_cause(bad[0]) + (f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""),
        )
    if not any(f["type"] == "fault-start" for f in faults(records)):
        return Verdict(NAME, "unknown", "no fault struck, so no invocation was replayed", stats)
    return Verdict(
        NAME, True, f"{len(invocations)} invocations, none hit a journal mismatch", stats
    )
