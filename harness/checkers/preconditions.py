"""Effects before their preconditions, by the world's clock: a notification that carries the
right link but was sent before the work behind the link was done passes every check of
values; only the ledger's times show it.

The world records each effect at the moment it applies it (its `wall`) and when its work is
done (`done`: later by the duration its first call asked for, an upload's ETA). The world
answers every call of that effect, retries too, no sooner than `done`: the checker and the
service see one time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.checkers.verdict import Verdict, checker

Ledger = dict[str, list[dict[str, Any]]]


def done_at(ledger: Ledger, op: str) -> dict[str, float]:
    """Per key, when the world finished `op`'s effect, as it recorded it (ledgers written
    before `done` was: the time it applied it plus the duration its applying call asked
    for)."""
    if all("done" in e for e in ledger["effects"]):
        done: dict[str, float] = {}
        for e in ledger["effects"]:  # a key done twice (two idempotency keys): the first
            if e["op"] == op:
                done[e["key"]] = min(e["done"], done.get(e["key"], e["done"]))
        return done
    duration = {}
    for c in ledger["calls"]:
        if c["op"] == op and c["outcome"] == "applied":
            request = json.loads(c.get("request") or "{}")
            duration.setdefault(c["key"], int(request.get("latency_ms") or 0) / 1000)
    return {
        e["key"]: e["wall"] + duration.get(e["key"], 0.0)
        for e in ledger["effects"]
        if e["op"] == op
    }


def happened_before(first: float, then: float, tolerance_s: float = 0.005) -> bool:
    """`first` came no later than `then`, on the world's one clock, within `tolerance_s`."""
    return first <= then + tolerance_s


@checker
def check_preconditions(
    ledger: Ledger,
    op: str,
    needs: str,
    needs_key: Callable[[str], str],
    name: str | None = None,
    tolerance_s: float = 0.005,
) -> Verdict:
    """Every `op` effect comes after the `needs` effect it depends on (on key
    `needs_key(key)`) was done. complete: every `op` effect's precondition is in the ledger.
    correct: the `op` effect was applied after its precondition was done (applied, plus its
    own duration), by the world's clock, within `tolerance_s`.

    Failed answers: not read: judged from the ledger's order of effects.
    Amounts: none."""
    name = name or f"{op} only after its {needs} was done"
    ready = done_at(ledger, needs)
    bad = []
    effects = [e for e in ledger["effects"] if e["op"] == op]
    for e in effects:
        want = needs_key(e["key"])
        if want not in ready:
            bad.append({"key": e["key"], "problem": f"{op} with no {needs} of {want} at all"})
        elif not happened_before(ready[want], e["wall"], tolerance_s):
            early = ready[want] - e["wall"]
            bad.append(
                {
                    "key": e["key"],
                    "problem": f"{op} {early * 1000:.0f} ms before the {needs} of {want} was done",
                    f"{op}_at": e["wall"],
                    f"{needs}_done_at": ready[want],
                }
            )
    stats = {"effects": len(effects), "violations": len(bad), "tolerance_ms": tolerance_s * 1000}
    if bad:
        return Verdict(
            name, False, f"{len(bad)} of {len(effects)} {op}s came before their {needs}", stats, bad
        )
    if not effects:
        return Verdict(name, "unknown", f"no {op} in the ledger: nothing to order", stats)
    return Verdict(name, True, f"all {len(effects)} {op}s came after their {needs} was done", stats)
