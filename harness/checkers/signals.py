"""A payment confirmed by a webhook (an awakeable) raced against a durable timeout.

Per payment, from the ledger (charge, cancel, webhook deliveries) and the client's answers:
it ends exactly one way. Confirmed: no cancel. Cancelled: exactly one cancel at the
provider, not before the timeout could have fired. Never both; never confirmed without a
delivered webhook; a payment whose webhook never came is cancelled even if the client never
heard back; a webhook delivered well before the timeout confirms it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from harness.checkers.horizon import after_run, later_summary, observed_until
from harness.checkers.timers import spanning_faults, waits_summary
from harness.checkers.verdict import Verdict, checker
from harness.workload.history import Completed, operations


@checker
def check_signals(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    handler: str,
    payment_of: Callable[[Completed], str],
    timeout: float,
    margin: float = 1.0,
    name: str = "each payment ends one way: confirmed, or cancelled once after the timeout",
    outcome: Callable[[Any], str] = lambda answer: answer["status"],
    manifest: dict[str, Any] | None = None,
) -> Verdict:
    """`margin`: a webhook delivered this long before the earliest moment the timer could
    fire must win the race (the awakeable's completion is in Restate's log first).
    `outcome(answer)`: "confirmed" or "cancelled", as the client was told.

    complete: every started payment ended at the provider, by a webhook or a cancel, and an
    answer of either kind matches what the provider saw. correct: started once, answered one
    way, cancelled at most once and not before the timeout, and a webhook delivered `margin`
    before the timer could fire won. Clock: the world's records of the start (never earlier
    than the client's request, so "not before the timeout" is the stricter for it), the
    webhook and the cancel: wall clock on this one machine. A payment with neither webhook
    nor cancel whose timeout is due after the run's end (`manifest`'s observed_until) is
    counted as due after the run, not judged.

    Failed answers: only `ok` answers say how a payment ended (confirmed or cancelled);
    every started payment must end one way at the provider whatever the client was told.
    Amounts: none: one charge and at most one cancel per payment are counted."""
    until = observed_until(manifest or {})
    later: dict[str, float] = {}
    answers: dict[str, set[str]] = {}
    ops: dict[str, list[int]] = {}
    for o in operations(records):
        if o.invoke.get("handler") != handler:
            continue
        pid = payment_of(o)
        ops.setdefault(pid, []).append(o.op)
        s = answers.setdefault(pid, set())
        if o.outcome == "ok" and o.result:
            s.add(outcome(o.result["resp"]))
    refused = refusals(ledger)
    walls: dict[tuple[str, str], list[float]] = {}
    for e in ledger["effects"]:
        walls.setdefault((e["op"], e.get("key") or ""), []).append(e["wall"])
    bad = []
    waits = []  # from the payment's start to what ended its wait: webhook or timeout
    n = {"confirmed": 0, "cancelled": 0, "unanswered": 0, "never_delivered": 0}
    n |= {"delivered_twice": 0, "late_webhooks_ignored": 0, "won_race_by_margin": 0}
    for pid in sorted(answers):
        charges, cancels = walls.get(("charge", pid), []), sorted(walls.get(("cancel", pid), []))
        hooks = sorted(walls.get(("webhook", pid), []))
        status = answers[pid]
        problems = []
        if len(charges) > 1:
            problems.append(f"started {len(charges)} times")
        if len(status) > 1:
            problems.append(f"answered both ways: {sorted(status)}")
        if len(cancels) > 1:
            problems.append(f"cancelled {len(cancels)} times")
        if "confirmed" in status and cancels:
            problems.append("confirmed to the client and cancelled at the provider")
        if "confirmed" in status and not hooks:
            problems.append("confirmed without a delivered webhook")
        if "cancelled" in status and not cancels:
            problems.append("answered cancelled, never cancelled at the provider")
        if charges:
            earliest_timeout = min(charges) + timeout
            if cancels and cancels[0] < earliest_timeout:
                problems.append(
                    f"cancelled {earliest_timeout - cancels[0]:.3f}s before the timeout"
                )
            if not hooks and pid in refused:
                n_refused, error = refused[pid]
                problems.append(f"the provider's webhook was refused {n_refused} times ({error})")
            elif not hooks and not cancels:
                if after_run(earliest_timeout, until):
                    later[pid] = earliest_timeout
                else:
                    problems.append("no webhook and never cancelled")
            if hooks and hooks[0] < earliest_timeout - margin:
                n["won_race_by_margin"] += 1
                if cancels or "cancelled" in status:
                    problems.append(
                        f"webhook delivered {earliest_timeout - hooks[0]:.2f}s before the "
                        "timeout, yet cancelled"
                    )
        elif "confirmed" in status or "cancelled" in status:
            problems.append("answered, but the payment was never started")
        ends = [min(x) for x in (hooks, cancels) if x]
        if charges and ends:
            waits.append([min(charges), min(ends)])
        n["confirmed"] += "confirmed" in status
        n["cancelled"] += "cancelled" in status
        n["unanswered"] += not status
        n["never_delivered"] += not hooks
        n["delivered_twice"] += len(hooks) > 1
        n["late_webhooks_ignored"] += sum(1 for h in hooks if cancels and h > cancels[0])
        if problems:
            bad.append(
                {
                    "key": pid,
                    "problem": "; ".join(problems),
                    "ops": ops[pid][:20],
                    "answers": sorted(status),
                    "charged_at": charges,
                    "webhooks_at": hooks,
                    "cancelled_at": cancels,
                }
            )
    stats = {"payments": len(answers), **n, "violations": len(bad), "due_after_run": len(later)}
    stats["waits_spanning_faults"] = spanning_faults(waits, records)
    deferred = later_summary(len(later), len(answers), later.values(), until, "timeouts")
    if bad:
        msg = f"{len(bad)} of {len(answers)} payments broken{deferred}"
        hit = [refused[c["key"]] for c in bad if c["key"] in refused]
        cause = (
            f"the service refused the provider's webhooks: {len(hit)} payments never got one "
            f"accepted ({sum(n for n, _ in hit)} deliveries; the last answer: {hit[-1][1]})"
            if hit
            else ""
        )
        return Verdict(name, False, msg, stats, bad, waits=waits, cause=cause)
    if not answers:
        return Verdict(name, "unknown", "not exercised: no payment was sent", stats)
    if later and not n["cancelled"] and not waits:
        return Verdict(name, "unknown", f"no payment ended within the run{deferred}", stats)
    return Verdict(
        name,
        True,
        f"{len(answers)} payments: {n['confirmed']} confirmed, {n['cancelled']} cancelled "
        f"once after the {timeout}s timeout ({n['never_delivered']} never got a webhook); "
        f"{n['late_webhooks_ignored']} late webhooks after a cancel changed nothing; "
        f"{waits_summary(waits, stats['waits_spanning_faults'])}{deferred}",
        stats,
        waits=waits,
    )


def refusals(ledger: dict[str, list[dict[str, Any]]]) -> dict[str, tuple[int, str]]:
    """Payments whose webhook the service's side refused on every delivery, with an HTTP
    client error (4xx): payment -> (failed deliveries, the last answer). Connection errors
    and 5xx (a kill, a restart) are the faults' doing, and a delivery retried after them
    is accepted."""
    failed: dict[str, list[Any]] = {}
    accepted = {c["key"] for c in ledger.get("calls", []) if c["op"] == "webhook"
                and c["outcome"] != "failed"}  # fmt: skip
    for c in ledger.get("calls", []):
        if c["op"] != "webhook" or c["outcome"] != "failed" or c["key"] in accepted:
            continue
        error = json.loads(c.get("request") or "{}").get("error", "")
        f = failed.setdefault(c["key"], [0, ""])
        f[0], f[1] = f[0] + 1, error
    return {k: (n, e) for k, (n, e) in failed.items() if e.startswith("HTTP 4")}
