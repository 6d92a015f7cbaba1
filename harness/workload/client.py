"""Calls through the Restate ingress, recorded in the history and classified.

Classification (DESIGN section 3): a refused connection means the request never left, so
`fail`; an HTTP answer is the invocation's outcome (`ok` for 2xx, `fail` for a terminal
error), except gateway-style 502/503/504, which say nothing about whether it ran; a timeout
or a reset after sending is `info`: it may or may not have taken effect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from harness.workload.history import History

UNKNOWN_STATUSES = {502, 503, 504}


@dataclass(frozen=True)
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
        model fields the checks need. Recorded with the operation in the history."""
        meta = {**self.meta, "action": action, "subject": subject, **model}
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


@dataclass
class Outcome:
    op: int
    type: str  # ok | fail | info
    value: Any = None
    error: str | None = None
    sent: bool = True  # False: refused before the request left, so surely not applied
    timed_out: bool = False  # the request's bounded wait (`Request.wait_s`) ran out

    @property
    def definite(self) -> bool:
        """The outcome is known: acknowledged, or a terminal answer from the server."""
        return self.type == "ok" or (self.type == "fail" and self.sent)


class IngressClient:
    """A pooled aiohttp client: httpx is ~4x slower at loading the ingress (DESIGN 8)."""

    def __init__(
        self, base_url: str, history: History, timeout: float = 15.0, connections: int = 64
    ):
        self.base_url = base_url.rstrip("/")
        self.history = history
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> IngressClient:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connections), timeout=self.timeout
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(
        self, req: Request, worker: int = 0, attempt: int = 1, timeout: float | None = None
    ) -> Outcome:
        """One attempt; `timeout` (seconds) overrides the client's for this attempt."""
        assert self._session is not None, "use `async with IngressClient(...)`"
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
            **req.meta,
        )
        headers = {"idempotency-key": req.idem} if req.idem else {}
        data = None
        if req.body is not None:  # a handler without input wants no body and no content-type
            data = json.dumps(req.body)
            headers["content-type"] = "application/json"
        try:
            async with self._session.request(
                req.method,
                self.base_url + req.path,
                data=data,
                headers=headers,
                skip_auto_headers=() if data else ("Content-Type",),  # aiohttp adds one
                timeout=self.timeout if timeout is None else aiohttp.ClientTimeout(total=timeout),
            ) as resp:
                text = await resp.text()
                status = resp.status
        except aiohttp.ClientConnectorError as e:
            return record_outcome(self.history, op, "fail", error=f"connect: {e}", sent=False)
        except (TimeoutError, aiohttp.ClientError) as e:
            return record_outcome(self.history, op, "info", error=f"{type(e).__name__}: {e}")
        if 200 <= status < 300:
            return record_outcome(self.history, op, "ok", value=json.loads(text) if text else None)
        kind = "info" if status in UNKNOWN_STATUSES else "fail"
        return record_outcome(self.history, op, kind, error=f"HTTP {status}: {text[:500]}")


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
