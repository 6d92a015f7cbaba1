"""Preflight: before any fault, check that the deployments serve what the scenario calls.

A scenario aimed at a service whose API differs would otherwise end as "unknown: 0
operations completed", with the server's message buried in history.jsonl. Two checks:

1. Every (service, handler) the workload's requests name is registered (admin API).
2. One probe per handler: the first request of the workload that is safe to send twice (it
   has an idempotency key, or is a read) goes ahead of the chaos, through the recorded
   client. An answer of any kind is fine (a terminal error is an answer); a probe that gets
   no answer while Restate shows its invocation failing attempt after attempt means the
   handler cannot take the request (a body it cannot read): that stops the run. So does an
   answer the scenario's contract cannot read (`Contract.check_answer`). A probe still
   unanswered is followed while its invocation runs or fails (a handler may take seconds
   before each failure) until it completes, fails for the third time, or waits on something
   durable; a slow handler is not evidence, and the chaos phase judges what is left.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

from harness.errors import BadInput
from harness.runtime.admin import AdminClient
from harness.workload.client import IngressClient, Request

# seconds a probe waits for its answer; one that takes longer is not judged by it: only an
# attempt Restate shows failing is evidence (a slow handler goes on into the chaos phase)
PROBE_TIMEOUT = 5.0
FAILED_ATTEMPTS = 3  # attempts Restate shows failing before a probe's request is called bad
# how long an unanswered probe's invocation is followed while it shows no new attempt or
# journal entry: not a verdict (one left is judged by the chaos phase), only when the
# preflight stops waiting for evidence
FOLLOW_QUIET = 30.0


def targets(requests: list[Any]) -> dict[tuple[str, str], Request]:
    """The first request per (service, handler), in workload order (flows are opaque)."""
    out: dict[tuple[str, str], Request] = {}
    for r in requests:
        if isinstance(r, Request):
            out.setdefault((r.service, r.handler), r)
    return out


def static_mismatches(requests: list[Any], registered: dict[str, dict[str, Any]]) -> list[str]:
    """`registered`: the run's services by name, each with `handlers` {Restate service:
    [handler names]} from its registration."""
    served = {
        svc: (name, handlers)
        for name, info in registered.items()
        for svc, handlers in info.get("handlers", {}).items()
    }
    problems = []
    for (service, handler), req in targets(requests).items():
        if req.method == "GET":
            continue  # the workflow API (attach, output) is the server's, not a handler
        if service not in served:
            listing = "; ".join(
                f"{n} registered {', '.join(i.get('handlers', {})) or 'no service'}"
                for n, i in registered.items()
            )
            problems.append(
                f"the scenario calls {service}/{handler}, but no deployment registered a "
                f"service {service!r} ({listing})"
            )
        elif handler not in served[service][1]:
            name, handlers = served[service]
            problems.append(
                f"the scenario calls {service}/{handler}, but service {name!r} registered "
                f"{service} with handlers {', '.join(handlers)}"
            )
    return problems


async def probe(
    client: IngressClient, admin: AdminClient, requests: list[Any], contracts: list[Any] = ()
) -> list[str]:
    problems = []
    for (service, handler), req in targets(requests).items():
        if req.send or not (req.idem or req.method == "GET" or req.idempotent):
            continue  # not safe to send twice, or a one-way send that answers at once
        probe_req = dataclasses.replace(req, meta={**req.meta, "preflight": True})
        out = await client.call(probe_req, timeout=PROBE_TIMEOUT)
        if out.type == "info" and req.idem:  # no answer yet: follow its invocation
            failing, completed = await follow(admin, service, req.idem)
            if completed:  # the same key again: the answer it completed with
                out = await client.call(probe_req, timeout=PROBE_TIMEOUT)
        else:
            failing = []  # an answer (or a refusal before sending: the chaos will say)
        if out.type == "ok" and "action" in req.meta:
            problems += unreadable(service, handler, req.meta["action"], out.value, contracts)
        for r in failing:
            problems.append(
                f"{service}/{handler} cannot take the scenario's request {req.body!r}: "
                f"Restate shows attempt {r.get('retry_count')} failing with: "
                f"{(r.get('last_failure') or '?').strip()[:600]}"
            )
            await admin.kill(r["id"])  # do not leave it retrying for ever
    return problems


async def follow(admin: AdminClient, service: str, idem: str) -> tuple[list[dict[str, Any]], bool]:
    """The probe's invocations that failed FAILED_ATTEMPTS attempts, and whether all
    completed, following them while they run or fail; none failing when they completed,
    wait on something durable (suspended), or showed no new attempt or journal entry for
    FOLLOW_QUIET seconds (the chaos judges those: a slow handler is not evidence)."""
    where = f"idempotency_key = '{idem.replace(chr(39), chr(39) * 2)}'"
    seen, progressed = None, time.monotonic()
    while True:
        rows = [r for r in await admin.invocations([service], where) if r["status"] != "completed"]
        # evidence of failing, not of being slow: attempt after attempt failed (retry_count
        # is 1 while the first attempt still runs; one failure may be a transient one the
        # next attempt gets past)
        failing = [
            r
            for r in rows
            if r.get("last_failure") and (r.get("retry_count") or 0) >= FAILED_ATTEMPTS
        ]
        if not rows:
            return [], True
        if failing or all(r["status"] == "suspended" for r in rows):
            return failing, False
        state = [(r.get("retry_count"), r.get("journal_size")) for r in rows]
        if state != seen:
            seen, progressed = state, time.monotonic()
        elif time.monotonic() - progressed > FOLLOW_QUIET:
            return [], False
        await asyncio.sleep(0.25)


def unreadable(
    service: str, handler: str, action: str, answer: Any, contracts: list[Any]
) -> list[str]:
    """The contracts' complaints about a probe's answer (an answer of another shape)."""
    out = []
    for contract in contracts:
        try:
            contract.check_answer(action, answer)
        except Exception as e:
            out.append(
                f"{service}/{handler} answered {json.dumps(answer)[:300]}, which "
                f"{type(contract).__name__} cannot read as the answer to {action!r}: "
                f"{type(e).__name__}: {e} (an adapter's answer readers say how to read it)"
            )
    return out


async def preflight(
    client: IngressClient,
    admin: AdminClient,
    requests: list[Any],
    registered: dict[str, dict[str, Any]],
    contracts: list[Any] = (),  # type: ignore[assignment]
) -> None:
    """Raise BadInput (exit 2) naming every handler the deployments do not serve as the
    scenario calls it, and every answer the scenario's contracts cannot read."""
    problems = static_mismatches(requests, registered) or await probe(
        client, admin, requests, contracts
    )
    if problems:
        raise BadInput(
            "preflight: the services do not serve the scenario's calls (nothing was faulted):\n  "
            + "\n  ".join(problems)
            + "\nAdapt the service, or the scenario's requests, to one contract."
        )
