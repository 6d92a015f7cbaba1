"""Typed client of the world, for services (inside ctx.run) and for the harness."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from harness.http import HttpClient

ENV_URL = "CHAOS_WORLD_URL"


class WorldUnavailable(Exception):
    """Transient: nothing was applied (503) or the answer was lost. Safe to retry with the
    same idempotency key; inside ctx.run, raising it makes Restate retry."""


class Declined(Exception):
    """Terminal: the world declined the operation (e.g. a card decline)."""


class WorldClient(HttpClient):
    def __init__(self, base_url: str | None = None, timeout: float = 10.0):
        url = base_url or os.environ.get(ENV_URL)
        if not url:
            raise RuntimeError(f"no world URL: pass base_url or set ${ENV_URL}")
        super().__init__(url, timeout)

    async def call(self, op: str, *, timeout: float | None = None, **fields: Any) -> dict[str, Any]:
        """One operation: `key` is the business key, `idem` the idempotency key. A call
        that takes longer than `timeout` seconds raises WorldUnavailable (it may have been
        applied: the answer was lost)."""
        limit = aiohttp.ClientTimeout(total=timeout) if timeout else None
        try:
            async with self.session.post(
                f"{self.base_url}/call/{op}", json=fields, timeout=limit
            ) as r:
                body = await r.json(content_type=None)
                status = r.status
        except (TimeoutError, aiohttp.ClientError) as e:
            raise WorldUnavailable(f"{op}: {type(e).__name__}: {e}") from e
        if status == 402:
            raise Declined(f"{op} declined for {fields.get('key')}")
        if status != 200:
            raise WorldUnavailable(f"{op}: HTTP {status}: {body}")
        return body

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(self.base_url + path, json=body) as r:
            r.raise_for_status()
            return await r.json()

    async def set_knob(
        self,
        op: str,
        key: str = "*",
        latency_ms: int = 0,
        error_rate: float = 0.0,
        decline: bool = False,
        fail_attempts: int = 0,
    ) -> None:
        """Failure knobs for `op` on business key `key` ('*': every key): hold the answer
        back `latency_ms` after applying; fail a fraction `error_rate` of calls (503, nothing
        applied); decline for good (402); fail the first `fail_attempts` attempts (503)."""
        await self._post(
            "/knobs",
            {
                "op": op,
                "key": key,
                "latency_ms": latency_ms,
                "error_rate": error_rate,
                "decline": decline,
                "fail_attempts": fail_attempts,
            },
        )

    async def webhooks(
        self, base_url: str | None = None, plans: dict[str, list[float]] | None = None
    ) -> None:
        """Where to call back (e.g. the Restate ingress) and, per business key, the delays
        in seconds after its effect at which the webhook is delivered: `[]` never, `[0.5,
        2.0]` twice. Keys without a plan get one delivery at once."""
        body: dict[str, Any] = {"plans": plans or {}}
        if base_url is not None:
            body["base_url"] = base_url
        await self._post("/webhooks", body)

    async def routes(self, routes: list[dict[str, Any]]) -> None:
        """Map a provider's own HTTP API onto the world's operations (harness/world/routes.py):
        a service then calls the world as it calls its provider, base URL aside."""
        await self._post("/routes", {"routes": routes})

    async def arm_delivery(self, fault: int, kind: str, args: dict[str, Any]) -> None:
        """Arm delivery fault number `fault` (a kind acting on deliveries, with its
        arguments) for the next planned webhook delivery it fits."""
        await self._post("/faults", {"fault": fault, "kind": kind, "args": args})

    async def delivery_fault(self, fault: int, disarm: bool = False) -> dict[str, Any] | None:
        """Where delivery fault `fault` was applied ({key, wall}), None while it waits;
        `disarm`: stop it waiting (the answer says whether it was applied first)."""
        url = f"{self.base_url}/faults/{fault}"
        async with self.session.request("DELETE" if disarm else "GET", url) as r:
            r.raise_for_status()
            return (await r.json())["applied"]

    async def open_account(self, account: str, balance: int) -> None:
        await self._post("/accounts", {"account": account, "balance": balance})

    async def events(self, after: int, wait: float = 0.0) -> list[dict[str, Any]]:
        async with self.session.get(
            f"{self.base_url}/events",
            params={"after": after, "wait": wait},
            timeout=aiohttp.ClientTimeout(total=wait + 10),
        ) as r:
            r.raise_for_status()
            return await r.json()

    async def last_seq(self) -> int:
        """The sequence number of the last call the world recorded (0: none yet)."""
        seq = 0
        while rows := await self.events(seq):
            seq = rows[-1]["seq"]
        return seq

    async def pending_deliveries(self) -> int:
        """Webhook deliveries the world still has to make (or is retrying)."""
        async with self.session.get(f"{self.base_url}/health") as r:
            r.raise_for_status()
            return int((await r.json()).get("pending_deliveries", 0))

    async def ledger(self) -> dict[str, list[dict[str, Any]]]:
        async with self.session.get(f"{self.base_url}/ledger") as r:
            r.raise_for_status()
            return await r.json()


_shared: WorldClient | None = None


def world() -> WorldClient:
    """The process-wide client a service uses (URL from $CHAOS_WORLD_URL)."""
    global _shared
    if _shared is None:
        _shared = WorldClient()
    return _shared


def world_action(op: str, **fields: Any) -> Callable[[], Awaitable[dict[str, Any]]]:
    """One world call as a no-argument coroutine function, the shape `ctx.run_typed` takes:
    `await ctx.run_typed("remind", world_action("email", key=k, idem=i))`."""

    async def call() -> dict[str, Any]:
        return await world().call(op, **fields)

    return call
