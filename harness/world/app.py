"""The simulated external world as one ASGI app: gateway, accounts, reservations, email.

Served as its own process (`harness.runtime.serve harness.world.app:app PORT`), configured
by CHAOS_WORLD_DB (ledger path) and CHAOS_WORLD_SEED (drives injected failures). It outlives
service kills: it is the ground truth a run is checked against.

HTTP API (what a user's own service implementation calls):
  POST /call/{op}   op in OPS; JSON {key, idem, amount?, account?, resource?, ...}
                    200 effect (a repeat of an idempotency key returns the first effect);
                    `latency_ms` in the body: the call takes that long (a repeat: until the
                    first's end), 402 declined (terminal), 503 transient failure (nothing applied)
  POST /knobs       {op, key='*', latency_ms, error_rate, decline, fail_attempts}
  POST /accounts    {account, balance}
  POST /webhooks    {base_url?, plans?: {key: [seconds, ...]}}: where and when to call back
                    after an effect whose call carried `webhook: {path, body}` (a payment
                    provider confirming asynchronously); `[]` = never, two delays = twice
  GET  /events?after=SEQ&wait=SECONDS   calls after SEQ (long-poll)
  GET  /ledger      the whole ledger
  GET  /health      {ok, pending_deliveries}: webhook deliveries still to come
  POST /routes      {routes: [...]}: map a provider's own HTTP API onto the operations
                    (harness/world/routes.py); any other request is then routed by them
  POST /faults      {fault, kind, args}: a delivery fault (harness/nemesis/kinds.py) for the
                    next planned webhook delivery it fits: duplicate, reorder or late
  GET  /faults/{n}  {applied: {key, wall} | null}; DELETE: disarm it, same answer
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from harness.http import HttpClient
from harness.world import routes
from harness.world.ledger import Ledger

OPS = (
    "charge",
    "refund",
    "withdraw",
    "deposit",
    "reserve",
    "confirm",
    "cancel",
    "email",
    "begin",  # begin / end: an operation's interval on a resource (overlap checks)
    "end",
    "event",  # something happened (a timer fired, a state was cleared): observed only
    "upload",  # data stored somewhere (sync-to-async uploads)
)
WEBHOOK_RETRY_FOR = 60.0  # a provider keeps redelivering a webhook that was not accepted


class World:
    def __init__(self, ledger: Ledger, seed: int):
        self.ledger = ledger
        self.rng = random.Random(seed)
        self.changed = asyncio.Condition()
        self.deliveries: set[asyncio.Task[None]] = set()
        self.http = HttpClient("")  # webhook deliveries: absolute URLs
        self.route_table: list[routes.HttpRoute] | None = None  # POST /routes
        # delivery faults (POST /faults) waiting for a planned delivery they fit, in order,
        # and those applied: fault number -> {key, wall}
        self.armed: list[dict[str, Any]] = []
        self.applied: dict[int, dict[str, Any]] = {}

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def call(self, request: Request) -> JSONResponse:
        op = request.path_params["op"]
        if op not in OPS:
            return JSONResponse({"error": f"unknown operation {op!r}; one of {OPS}"}, 404)
        body: dict[str, Any] = await request.json()
        peer = request.client.port if request.client else None  # which process called
        status, answer = await self._call(op, body, peer)
        return JSONResponse(answer, status)

    async def routed(self, request: Request) -> JSONResponse:
        """Any other request: a service's own HTTP call to its provider, mapped to an
        operation by the routes the scenario declared (harness/world/routes.py)."""
        try:
            route, params = routes.match(self._routes(), request.method, request.url.path)
        except routes.RouteError as e:  # recorded: the run names what no route maps
            call = {"method": request.method, "path": request.url.path}
            self.ledger.record(routes.UNROUTED, call, "refused")
            return JSONResponse({"error": str(e)}, 404)
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/x-www-form"):
            body: Any = dict(urllib.parse.parse_qsl(raw.decode()))
        else:
            body = json.loads(raw) if raw.strip() else {}
        headers = {k.lower(): v for k, v in request.headers.items()}
        fields = routes.extract(route, params, headers, dict(request.query_params), body)
        peer = request.client.port if request.client else None
        status, answer = await self._call(route.op, fields, peer)
        if status == 200:
            return JSONResponse(routes.render(route.answer, answer))
        shape = {402: route.declined, 503: route.unavailable}.get(status)
        if shape is not None:
            return JSONResponse(routes.render(shape, answer), status)
        return JSONResponse(answer, status)

    def _routes(self) -> list[routes.HttpRoute]:
        """The declared routes, parsed once (from the ledger after a restart of the world)."""
        if self.route_table is None:
            self.route_table = routes.parse(json.loads(self.ledger.setting("routes") or "[]"), OPS)
        return self.route_table

    async def set_routes(self, request: Request) -> JSONResponse:
        """POST /routes {"routes": [...]}: kept in the ledger, so a restarted world keeps
        them; a route the world cannot use is refused (400) with what is wrong."""
        declared = (await request.json()).get("routes", [])
        try:
            self.route_table = routes.parse(declared, OPS)
        except routes.RouteError as e:
            return JSONResponse({"error": str(e)}, 400)
        self.ledger.set_setting("routes", json.dumps(declared))
        return JSONResponse({"routes": len(declared)})

    async def _call(
        self, op: str, body: dict[str, Any], peer: int | None
    ) -> tuple[int, dict[str, Any]]:
        """One call of `op`: (HTTP status, answer)."""
        knob = self.ledger.knob(op, body.get("key"))
        if knob["decline"]:
            self.ledger.record(op, body, "declined", peer=peer)
            await self._notify()
            return 402, {"declined": True, "op": op, "key": body.get("key")}
        flaky = knob["error_rate"] and self.rng.random() < knob["error_rate"]
        if (
            flaky
            or self.ledger.next_attempt(op, body.get("key"), body.get("idem"))
            <= knob["fail_attempts"]
        ):
            self.ledger.record(op, body, "failed", peer=peer)
            await self._notify()
            return 503, {"error": "injected transient failure"}
        # the effect is applied; the answer is slow (or lost). A call may ask for its own
        # duration (an upload's ETA): the work is done once, at the first call's end, and
        # every repeat answers then (or at once after it), whatever duration it asks for,
        # as a real API would. The ledger keeps that done time (`effects.done`), which the
        # checkers read: one truth. A knob's latency (a slow or lost answer) holds every
        # call back in full.
        own_s = int(body.get("latency_ms") or 0) / 1000
        existing = self.ledger.existing(op, body.get("idem"))
        if existing is not None:
            effect, done = existing
            self.ledger.record(op, body, "duplicate", peer=peer)
            own_s = max(0.0, done - time.time())
        else:
            effect = self._apply(op, body, own_s, peer)
            if body.get("webhook"):
                self._schedule_webhooks(body)
        await self._notify()
        wait_s = max(knob["latency_ms"] / 1000, own_s)
        if wait_s:
            await asyncio.sleep(wait_s)
        return 200, effect

    def _apply(
        self, op: str, body: dict[str, Any], duration_s: float = 0.0, peer: int | None = None
    ) -> dict[str, Any]:
        """Record a new effective effect of `op`, done `duration_s` from now; returns it
        (the caller's answer)."""
        effect = {
            "id": f"{op}_{self.ledger.next_effect_id()}",
            "op": op,
            **{k: body[k] for k in ("key", "amount", "account", "resource") if k in body},
        }
        self.ledger.record(op, body, "applied", effect, duration_s, peer)
        return effect

    def _schedule_webhooks(self, body: dict[str, Any]) -> None:
        """Pending deliveries live in this process: a kill of the world loses them (the
        scenarios never kill the world)."""
        hook, key = body["webhook"], body.get("key")
        base = self.ledger.setting("webhook_base_url")
        planned = [(n, delay, f"{key}:webhook:{n}") for n, delay in
                   enumerate(self.ledger.webhook_delays(key), 1)]  # fmt: skip
        for n, delay, idem in self._fault_deliveries(key, planned):
            call = {"key": key, "idem": idem, "resource": hook["path"]}
            if base is None:  # nobody told the world where to call back
                self.ledger.record("webhook", {**call, "error": "no base_url"}, "failed")
                continue
            url, payload = base.rstrip("/") + hook["path"], {**hook.get("body", {}), "delivery": n}
            task = asyncio.create_task(self._deliver(url, payload, call, delay))
            self.deliveries.add(task)
            task.add_done_callback(self.deliveries.discard)

    def _fault_deliveries(
        self, key: str | None, planned: list[tuple[int, float, str]]
    ) -> list[tuple[int, float, str]]:
        """The planned deliveries (number, delay, idempotency key) as the first armed
        delivery fault that fits them changes them; recorded in the ledger (op
        "webhook-fault") and answered by GET /faults/{n}."""
        armed = next(
            (
                a for a in self.armed
                if len(planned) >= (2 if a["kind"] == "reorder-delivery" else 1)
                and a["args"].get("key") in (None, key)  # else aimed at another key's
            ),
            None,
        )  # fmt: skip
        if armed is None:
            return planned
        kind, delay = armed["kind"], armed["args"]["delay_s"]
        (n1, d1, idem1), rest = planned[0], planned[1:]
        if kind == "duplicate-delivery":  # a request of its own: Restate does not merge it
            planned = [*planned, (n1, d1 + delay, f"{idem1}:copy")]
        elif kind == "reorder-delivery":
            (n2, _, idem2), later = rest[0], rest[1:]
            planned = [(n2, d1, idem2), (n1, d1 + delay, idem1), *later]
        else:  # late-delivery
            planned = [(n1, d1 + delay, idem1), *rest]
        self.armed.remove(armed)
        self.applied[armed["fault"]] = {"key": key, "wall": time.time()}
        plan = [[n, round(d, 3)] for n, d, _ in planned]
        self.ledger.record(
            "webhook-fault", {"key": key, "fault": armed["fault"], "kind": kind,
                              "deliveries": plan}, "applied",
        )  # fmt: skip
        return planned

    async def _deliver(self, url: str, payload: Any, call: dict[str, Any], delay: float) -> None:
        """POST until accepted (2xx), as a provider redelivers; each delivery has its own
        idempotency key, so Restate deduplicates the retries of one delivery."""
        await asyncio.sleep(delay)
        deadline = time.monotonic() + WEBHOOK_RETRY_FOR
        while True:
            try:
                async with self.http.session.post(
                    url, json=payload, headers={"idempotency-key": call["idem"]}
                ) as r:
                    accepted = 200 <= r.status < 300
                    # why it was refused, for the run's evidence (a service that rejects
                    # the provider's webhook looks, from outside, like one never called)
                    error = "" if accepted else f"HTTP {r.status}: {(await r.text())[:300]}"
            except (TimeoutError, aiohttp.ClientError) as e:
                accepted, error = False, f"{type(e).__name__}: {e}"
            if accepted:
                self._apply("webhook", call)
            else:
                self.ledger.record("webhook", {**call, "error": error}, "failed")
            await self._notify()
            if accepted or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.2)

    async def webhooks(self, request: Request) -> JSONResponse:
        body = await request.json()
        if "base_url" in body:
            self.ledger.set_setting("webhook_base_url", body["base_url"])
        self.ledger.plan_webhooks(body.get("plans", {}))
        return JSONResponse({"ok": True})

    async def arm_fault(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.armed.append({"fault": int(body["fault"]), "kind": body["kind"], "args": body["args"]})
        return JSONResponse({"armed": True})

    async def fault_state(self, request: Request) -> JSONResponse:
        """Where a delivery fault was applied, if it was; DELETE also disarms it."""
        n = int(request.path_params["n"])
        if request.method == "DELETE":
            self.armed = [a for a in self.armed if a["fault"] != n]
        return JSONResponse({"applied": self.applied.get(n)})

    async def knobs(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.ledger.set_knob(**body)
        return JSONResponse({"ok": True})

    async def accounts(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.ledger.open_account(body["account"], int(body["balance"]))
        return JSONResponse({"ok": True})

    async def events(self, request: Request) -> JSONResponse:
        after = int(request.query_params.get("after", 0))
        wait = min(float(request.query_params.get("wait", 0)), 30.0)
        rows = self.ledger.events_after(after)
        if not rows and wait > 0:
            async with self.changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), wait)
            rows = self.ledger.events_after(after)
        return JSONResponse(rows)

    async def dump(self, request: Request) -> JSONResponse:
        return JSONResponse(self.ledger.dump())

    async def health(self, request: Request) -> JSONResponse:
        """Up, and how many webhook deliveries are still scheduled or being retried (the
        run's quiesce waits for them: each one starts an invocation)."""
        return JSONResponse({"ok": True, "pending_deliveries": len(self.deliveries)})


def make_app(db: Path, seed: int) -> Starlette:
    world = World(Ledger(db), seed)
    return Starlette(
        routes=[
            Route("/call/{op}", world.call, methods=["POST"]),
            Route("/knobs", world.knobs, methods=["POST"]),
            Route("/webhooks", world.webhooks, methods=["POST"]),
            Route("/accounts", world.accounts, methods=["POST"]),
            Route("/events", world.events),
            Route("/ledger", world.dump),
            Route("/health", world.health),
            Route("/routes", world.set_routes, methods=["POST"]),
            Route("/faults", world.arm_fault, methods=["POST"]),
            Route("/faults/{n:int}", world.fault_state, methods=["GET", "DELETE"]),
            # last: a service's own HTTP calls, as its provider's API has them
            Route("/{path:path}", world.routed, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )


def __getattr__(name: str) -> Any:  # `harness.world.app:app`, built from the environment
    if name == "app":
        return make_app(
            Path(os.environ["CHAOS_WORLD_DB"]), int(os.environ.get("CHAOS_WORLD_SEED", "0"))
        )
    raise AttributeError(name)
