"""Calls through the Restate ingress, recorded in the history and classified.

Classification (DESIGN section 3): a refused connection means the request never left, so
`fail`; an HTTP answer is the invocation's outcome (`ok` for 2xx, `fail` for a terminal
error), except gateway-style 502/503/504, which say nothing about whether it ran; a timeout
or a reset after sending is `info`: it may or may not have taken effect.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from harness.workload.history import History
from harness.workload.http1 import Abandoned, ConnectError, Disconnected, Http1Client

UNKNOWN_STATUSES = {502, 503, 504}
# The ingress's answer for a service it does not know: it created no invocation. Seen for a
# registered service in the moment a new deployment was registered on a server that had just
# restarted (restate-server 1.7.12), so it is retried like a refused connection.
UNREGISTERED = b"make sure to register the service"


@dataclass(frozen=True, slots=True)  # slots: a 100k-operation soak holds 100k of them
class Request:
    """One logical client request; `idem` is sent as the `idempotency-key` header.

    With `send`, it is a one-way message (Restate answers 202 with the invocation id once it
    is durably queued), run after `delay_ms` if given: Restate as a (delayed) task queue.
    A GET is the ingress' workflow API, `/restate/workflow/{service}/{key}/{handler}` with
    handler `attach` or `output`: a read, so safe to retry. `idempotent` marks a request
    safe to retry without an idempotency key (a workflow's `run` runs once per workflow key,
    and Restate refuses idempotency keys on workflow handlers). With `wait_s`, the client waits
    at most that long for an answer, retries included, then gives up on this request
    (`Outcome.timed_out`): a bounded wait, after which a client takes another path."""

    service: str
    handler: str
    key: str | None = None
    body: Any = None
    idem: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    send: bool = False
    delay_ms: int | None = None
    method: str = "POST"
    wait_s: float | None = None
    idempotent: bool = False

    def as_action(self, action: str, subject: str, **model: Any) -> Request:
        """This request, tagged with what it is in the scenario's model: `action` (create,
        refund, read, ...) on `subject` (the business key, e.g. a payment id), plus any
        model fields the checks need (`RunData.actions()` shows them as the request's
        body, whatever the API's body is). Recorded with the operation in the history."""
        meta = {**self.meta, "action": action, "subject": subject, "model": model}
        return dataclasses.replace(self, meta=meta)

    @property
    def path(self) -> str:
        if self.method == "GET":
            return (
                f"/restate/workflow/{self.service}/{quote(self.key or '', safe='')}/{self.handler}"
            )
        target = (
            f"/{self.service}/{self.handler}"
            if self.key is None
            else f"/{self.service}/{quote(self.key, safe='')}/{self.handler}"
        )
        if not self.send:
            return target
        return f"{target}/send" + (f"?delay={self.delay_ms}ms" if self.delay_ms else "")


@dataclass(slots=True)  # one per request of the workload
class Outcome:
    op: int
    type: str  # ok | fail | info
    value: Any = None
    error: str | None = None
    sent: bool = True  # False: refused before the request left, so surely not applied
    timed_out: bool = False  # the request's bounded wait (`Request.wait_s`) ran out
    wedged: str | None = None  # abandoned: why it cannot be answered (`IngressClient.abandon`)

    @property
    def definite(self) -> bool:
        """The outcome is known: acknowledged, or a terminal answer from the server."""
        return self.type == "ok" or (self.type == "fail" and self.sent)


class IngressClient:
    """Calls through the ingress over keep-alive HTTP/1.1 connections (harness.workload.http1:
    aiohttp's client costs three times as much per request, see bench/driver_vs_wrk.py).

    Given several ingresses (a cluster's nodes), it balances as a load balancer would: a
    worker's requests go to its own node, unless `serving(i)` says node i is not (down or
    still starting: its health check fails), and a request that cannot connect there (it
    was never sent) goes to the next node at once."""

    def __init__(
        self,
        base_url: str | list[str],
        history: History,
        timeout: float = 15.0,
        connections: int = 64,
        serving: Callable[[int], bool] | None = None,
    ):
        urls = [base_url] if isinstance(base_url, str) else base_url
        self.serving = serving
        self.base_urls = [u.rstrip("/") for u in urls]
        self.base_url = self.base_urls[0]
        self.history = history
        self.timeout = timeout
        self._connections = connections
        self._nodes: list[Http1Client] = []

    async def __aenter__(self) -> IngressClient:
        for base in self.base_urls:
            url = urlsplit(base)
            host, port = url.hostname or "127.0.0.1", url.port or 80
            self._nodes.append(Http1Client(host, port, self._connections))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for node in self._nodes:
            await node.close()

    async def _request(
        self, worker: int, method: str, path: str, headers: dict[str, str], data: bytes | None,
        timeout: float, tag: Hashable | None,
    ) -> tuple[int, bytes]:  # fmt: skip
        """The request on the worker's node, else (not sent: refused) on the next ones."""
        n = len(self._nodes)
        if n == 1:  # one server: nothing to balance (every request of the load driver)
            return await self._nodes[0].request(method, path, headers, data, timeout, tag)
        order = [(worker + i) % n for i in range(n)]
        if self.serving is not None:  # health-checked first; all, if none passes
            order = [j for j in order if self.serving(j)] or order
        for j in order:
            try:
                return await self._nodes[j].request(method, path, headers, data, timeout, tag)
            except ConnectError:
                if j == order[-1]:
                    raise
        raise AssertionError("unreachable")

    def abandon(self, tag: Hashable, why: str) -> bool:
        """Stop waiting for attempt `tag`'s answer: it ends as `info` (outcome unknown) with
        `wedged` = `why`. False if it is not waiting for an answer (not yet sent)."""
        return any(node.abandon(tag, why) for node in self._nodes)

    async def call(
        self,
        req: Request,
        worker: int = 0,
        attempt: int = 1,
        timeout: float | None = None,
        item: int | None = None,
        tag: Hashable | None = None,
    ) -> Outcome:
        """One attempt; `timeout` (seconds) overrides the client's for this attempt; `item`:
        the request's position in the scenario's generated workload (what a shrink cuts);
        `tag` names the attempt for `abandon`."""
        assert self._nodes, "use `async with IngressClient(...)`"
        op = self.history.next_op()
        self.history.one_way += req.send
        self.history.append(
            "invoke",
            op=op,
            worker=worker,
            service=req.service,
            handler=req.handler,
            key=req.key,
            idem=req.idem,
            attempt=attempt,
            req=req.body,
            **({"delay_ms": req.delay_ms} if req.delay_ms else {}),  # a delayed one-way send
            **({"item": item} if item is not None else {}),
            **req.meta,
        )
        headers = {"idempotency-key": req.idem} if req.idem else {}
        data = None
        if req.body is not None:  # a handler without input wants no body and no content-type
            data = orjson.dumps(req.body)
            headers["content-type"] = "application/json"
        try:
            status, body = await self._request(
                worker, req.method, req.path, headers, data,
                self.timeout if timeout is None else timeout, tag,
            )  # fmt: skip
        except ConnectError as e:
            return record_outcome(self.history, op, "fail", error=f"connect: {e}", sent=False)
        except Abandoned as e:
            out = record_outcome(self.history, op, "info", error=f"abandoned: {e.why}")
            out.wedged = e.why
            return out
        except (TimeoutError, Disconnected) as e:
            return record_outcome(self.history, op, "info", error=f"{type(e).__name__}: {e}")
        if 200 <= status < 300:
            return record_outcome(
                self.history, op, "ok", value=orjson.loads(body) if body else None
            )
        kind = "info" if status in UNKNOWN_STATUSES else "fail"
        text = body[:500].decode(errors="replace")
        refused = status == 404 and UNREGISTERED in body
        return record_outcome(
            self.history, op, kind, error=f"HTTP {status}: {text}", sent=not refused
        )


def record_outcome(
    history: History,
    op: int,
    type_: str,
    value: Any = None,
    error: str | None = None,
    sent: bool = True,
) -> Outcome:
    """Append operation `op`'s outcome record (`ok` with its answer, else the error)."""
    fields: dict[str, Any] = {"op": op}
    if type_ == "ok":
        fields["resp"] = value
    else:
        fields["error"] = error
    history.append(type_, **fields)
    return Outcome(op, type_, value, error, sent)


async def sleep_backoff(attempt: int, base: float = 0.05, cap: float = 0.25) -> None:
    await asyncio.sleep(min(cap, base * 2 ** (attempt - 1)))
