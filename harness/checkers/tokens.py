"""Payment tokens (make / cancel / expire), read off the world's ledger."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from harness.checkers.causes import not_through_world, world_unused
from harness.checkers.verdict import Verdict, checker
from harness.workload.history import Completed, failed_subjects, operations


@checker
def check_tokens(
    records: list[dict[str, Any]],
    ledger: dict[str, list[dict[str, Any]]],
    make: str,
    cancel: str,
    token_of: Callable[[Completed], str | None] = lambda o: o.key,
    pay_op: str = "withdraw",
    refund_op: str = "deposit",
    status: Callable[[Any], str | None] = lambda answer: (answer or {}).get("status"),
) -> Verdict:
    """Per token: at most one payment and one refund, never a refund without a payment;
    a token whose cancel was acknowledged nets to zero (never charged, or refunded once);
    a payment acknowledged as COMPLETED whose token saw no cancel request was charged once;
    one acknowledged as CANCELLED was never left charged, nor one whose every make was
    answered with a failure (a terminal error the service sent). `status(answer)`: what a make
    answer says, "COMPLETED", "CANCELLED" or None.

    complete: a payment acknowledged as COMPLETED without a cancel has its charge, and an
    acknowledged cancel of a charged token its refund. correct: at most one payment and one
    refund per token, never a refund without a payment.

    Failed answers: a token whose every make was answered with a failure must net to
    zero at the bank, as must one answered CANCELLED or whose cancel was acknowledged.
    Amounts: per token, refunds minus payments must net to zero where the token was
    cancelled, answered CANCELLED or answered failed; a payment's amount is not compared
    with the one asked."""
    name = "each token paid once or cancelled to net zero"
    pays: dict[str, list[dict[str, Any]]] = defaultdict(list)
    refunds: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in ledger["effects"]:
        if e["op"] == pay_op:
            pays[e["key"]].append(e)
        elif e["op"] == refund_op:
            refunds[e["key"]].append(e)
    cancel_sent: set[str] = set()
    cancel_acked: set[str] = set()
    made: dict[str, set[str]] = defaultdict(set)  # token -> statuses acknowledged by makes
    makes: list[tuple[str, Completed]] = []
    op_ids: dict[str, list[int]] = defaultdict(list)
    for o in operations(records):
        handler = o.invoke.get("handler")
        token = token_of(o) if handler in (make, cancel) else None
        if token is None:
            continue
        op_ids[token].append(o.op)
        if handler == cancel:
            cancel_sent.add(token)
            if o.outcome == "ok":
                cancel_acked.add(token)
        else:
            makes.append((token, o))
            if o.outcome == "ok":
                made[token].add(status((o.result or {}).get("resp")))
    make_failed = failed_subjects(makes)  # every make of the token answered failed
    bad = []
    tokens = set(op_ids) | set(pays) | set(refunds)
    counts = {"charged": 0, "refunded": 0, "cancelled_before": 0}
    for t in sorted(tokens):
        p, r = len(pays[t]), len(refunds[t])
        net = sum(e["amount"] or 0 for e in refunds[t]) - sum(e["amount"] or 0 for e in pays[t])
        problems = []
        if p > 1:
            problems.append(f"charged {p} times")
        if r > 1:
            problems.append(f"refunded {r} times")
        if r > p:
            problems.append("refunded without a payment")
        if t in cancel_acked and net != 0:
            problems.append(f"cancel acknowledged but the token nets {net}")
        if "CANCELLED" in made[t] and net != 0:
            problems.append(f"answered CANCELLED but the token nets {net}")
        if t in make_failed and net != 0:
            problems.append(
                f"every make answered as failed ({make_failed[t]}) but the token nets {net}"
            )
        if "COMPLETED" in made[t] and t not in cancel_sent and (p, r) != (1, 0):
            problems.append(f"answered COMPLETED (no cancel sent) but {p} payments, {r} refunds")
        counts["charged"] += p and not r
        counts["refunded"] += bool(r)
        counts["cancelled_before"] += t in cancel_acked and not p
        if problems:
            bad.append(
                {
                    "key": t,
                    "problem": "; ".join(problems),
                    "ops": op_ids[t][:20],
                    "effects": (pays[t] + refunds[t])[:10],
                }
            )
    stats = {
        "tokens": len(tokens),
        **counts,
        "makes_answered_failed": len(make_failed),
        "violations": len(bad),
    }
    completed = sum("COMPLETED" in m for m in made.values())
    if bad and completed and world_unused(ledger, (pay_op, refund_op)):
        return Verdict(
            name,
            "unknown",
            f"no {pay_op} or {refund_op} call reached the world in the whole run, though "
            f"{completed} tokens were answered as paid: "
            + not_through_world("move the money", "see it"),
            stats,
            bad[:20],
        )
    if bad:
        return Verdict(
            name,
            False,
            f"{len(bad)} of {len(tokens)} tokens broke the payment state machine",
            stats,
            bad,
        )
    return Verdict(
        name,
        True,
        f"{len(tokens)} tokens: {counts['charged']} charged once, "
        f"{counts['refunded']} charged and refunded once, "
        f"{counts['cancelled_before']} cancelled before any charge",
        stats,
    )
