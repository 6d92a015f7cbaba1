"""Drive a list of requests through the ingress with bounded concurrency.

Workers pull requests in order. A request that carries an idempotency key is retried with
the same key after `fail`/`info` (what a real client does: the key makes retrying safe)
until it is acknowledged or its retry budget runs out. With `wedged`, an attempt waiting
longer than WEDGE_CHECK_S is abandoned, and its request given up, once `wedged` says it
cannot be answered (Restate reports its key stuck on a journal mismatch: replaying the
same code never gets past it, so waiting would only run out the timeout and the retry
budget; the attempt is recorded as `info` with the reason). Progress is observable, so faults
can be triggered "after N completed operations" and land while invocations are in flight.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from harness.workload.client import IngressClient, Outcome, Request, sleep_backoff

Call = Callable[[Request], Awaitable[Outcome]]
WEDGE_CHECK_S = 1.0
# why a request cannot be answered (its key is wedged), or None
Wedged = Callable[[Request], Awaitable[str | None]]
# A client flow: several requests with the client's own logic between them (submit, wait a
# bounded time, else ask for the result by email). It gets `call` (one request, with the
# driver's retries, recorded in the history) and returns its final outcome.
Flow = Callable[[Call], Awaitable[Outcome]]


@dataclass
class DriverStats:
    requests: int = 0  # workload items started: requests, or flows of several requests
    done: int = 0  # workload items finished (what "after N operations" fault triggers count)
    attempts: int = 0
    ok: int = 0  # attempts by outcome; ok attempts = acknowledged requests
    fail: int = 0
    info: int = 0
    failed: int = 0  # requests that ended in a definite failure (a terminal answer)
    gave_up: int = 0  # requests whose retries ran out without a definite outcome
    wedged: int = 0  # of those, given up early: Restate reported their key wedged
    in_flight: int = 0


class Driver:
    def __init__(
        self,
        client: IngressClient,
        concurrency: int = 32,
        retry_for: float = 60.0,
        max_attempts: int = 100,
        wedged: Wedged | None = None,
    ):
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency}")
        self.client = client
        self.concurrency = concurrency
        self.retry_for = retry_for
        self.max_attempts = max_attempts
        self.wedged = wedged
        self.stats = DriverStats()
        self._progress = asyncio.Condition()
        self._waiting: dict[int, tuple[Request, float]] = {}  # attempts by tag: since when
        self._tags = itertools.count()

    @property
    def in_flight(self) -> int:
        return self.stats.in_flight

    @property
    def done(self) -> int:
        return self.stats.done

    async def wait_done(self, n: int) -> None:
        """Return once at least n requests have finished."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.stats.done >= n)

    async def _finish(self) -> None:
        async with self._progress:
            self._progress.notify_all()

    async def _one(self, req: Request, worker: int, item: int | None = None) -> Outcome:
        start = time.monotonic()
        deadline = start + self.retry_for
        wait_until = None if req.wait_s is None else start + req.wait_s
        attempt = 0
        while True:
            attempt += 1
            left = None if wait_until is None else wait_until - time.monotonic()
            self.stats.attempts += 1
            self.stats.in_flight += 1
            tag = None
            if self.wedged is not None:  # watched: abandoned if its key is wedged
                tag = next(self._tags)
                self._waiting[tag] = (req, time.monotonic())
            try:
                out = await self.client.call(
                    req, worker=worker, attempt=attempt, timeout=left, item=item, tag=tag
                )
            finally:
                self.stats.in_flight -= 1
                self._waiting.pop(tag, None)
            setattr(self.stats, out.type, getattr(self.stats, out.type) + 1)
            if out.wedged is not None:
                self.stats.gave_up += 1
                self.stats.wedged += 1
                return out
            if wait_until is not None and not out.definite and time.monotonic() >= wait_until:
                self.stats.gave_up += 1  # the bounded wait is spent
                return replace(out, timed_out=True)
            safe = req.idem is not None or req.idempotent or req.method == "GET"
            retryable = safe and not out.definite
            if not retryable or attempt >= self.max_attempts or time.monotonic() > deadline:
                if out.type != "ok":
                    self.stats.failed += out.definite
                    self.stats.gave_up += not out.definite
                return out
            await sleep_backoff(attempt)

    async def run(
        self,
        requests: Sequence[Request | Flow],
        duration: float | None = None,
        rate: float | None = None,
        items: Sequence[int] | None = None,
    ) -> list[Outcome]:
        """Send the requests, in order; after `duration` seconds no new request starts (those
        under way finish). With `rate`, request i starts no earlier than i / rate seconds
        after the first (arrivals spread over time, as webhooks or events arrive). `items`:
        each request's position in the generated workload, recorded with its operations
        (default: its index). Returns the final outcome of each request sent, in order."""
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be > 0 requests/s, got {rate}")
        t0 = time.monotonic()
        stop_at = None if duration is None else t0 + duration
        results: list[Outcome | None] = [None] * len(requests)
        order = iter(range(len(requests)))  # the workers take the next request in turn

        async def worker(wid: int) -> None:
            while stop_at is None or time.monotonic() < stop_at:
                i = next(order, None)
                if i is None:
                    return
                if rate is not None:
                    await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                self.stats.requests += 1
                item, position = requests[i], i if items is None else items[i]
                if isinstance(item, Request):
                    results[i] = await self._one(item, wid, position)
                else:
                    results[i] = await item(lambda req, w=wid, p=position: self._one(req, w, p))
                self.stats.done += 1
                await self._finish()

        watch = None if self.wedged is None else asyncio.create_task(self._abandon_wedged())
        try:
            await asyncio.gather(*(worker(w) for w in range(self.concurrency)))
        finally:
            if watch is not None:
                watch.cancel()
        return [r for r in results if r is not None]

    async def _abandon_wedged(self) -> None:
        """Abandon the attempts waiting longer than WEDGE_CHECK_S that `wedged` says cannot
        be answered (one read of Restate's state a second at most, whatever the number)."""
        assert self.wedged is not None
        while True:
            await asyncio.sleep(WEDGE_CHECK_S)
            now = time.monotonic()
            for tag, (req, since) in list(self._waiting.items()):
                if now - since >= WEDGE_CHECK_S and (why := await self.wedged(req)):
                    self.client.abandon(tag, why)
