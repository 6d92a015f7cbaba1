"""The world process: ledger semantics, knobs, events, durability across a kill."""

import asyncio
import contextlib
import json
import time

import pytest

from harness.runtime.ports import PortAllocator
from harness.world.client import Declined, WorldUnavailable


@contextlib.asynccontextmanager
async def hook_server(path, hook):
    """An HTTP server on an allocated 127.0.0.1 port answering POST `path` with `hook`:
    where the world delivers webhooks. Yields its base URL."""
    from aiohttp import web

    app = web.Application()
    app.router.add_post(path, hook)
    runner = web.AppRunner(app)
    await runner.setup()
    alloc = PortAllocator()
    port = alloc.allocate()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
        alloc.release_all()


async def test_charge_is_deduplicated_by_idempotency_key(world):
    w, _ = world
    first = await w.call("charge", key="p1", idem="k1", amount=10, account="a")
    again = await w.call("charge", key="p1", idem="k1", amount=10, account="a")
    other = await w.call("charge", key="p1", idem="k2", amount=10, account="a")
    assert first == again and first["id"] != other["id"]
    ledger = await w.ledger()
    assert [(c["idem"], c["attempt"], c["outcome"]) for c in ledger["calls"]] == [
        ("k1", 1, "applied"),
        ("k1", 2, "duplicate"),
        ("k2", 1, "applied"),
    ]
    assert len(ledger["effects"]) == 2
    assert ledger["balances"] == [{"account": "a", "balance": -20}]


async def test_money_moves_with_effects_only(world):
    w, _ = world
    await w.open_account("a", 100)
    await w.call("charge", key="p", idem="c", amount=30, account="a")
    await w.call("charge", key="p", idem="c", amount=30, account="a")  # duplicate: no move
    await w.call("refund", key="p", idem="r", amount=30, account="a")
    await w.call("withdraw", key="x", idem="w", amount=5, account="a")
    assert (await w.ledger())["balances"] == [{"account": "a", "balance": 95}]


async def test_knobs_decline_fail_and_delay(world):
    w, _ = world
    await w.set_knob("charge", "bad", decline=True)
    with pytest.raises(Declined):
        await w.call("charge", key="bad", idem="d1", amount=1)
    await w.set_knob("email", error_rate=1.0)
    with pytest.raises(WorldUnavailable, match="503"):
        await w.call("email", key="u", idem="e1")
    await w.set_knob("reserve", "slow", latency_ms=400)
    task = asyncio.create_task(w.call("reserve", key="slow", idem="s1"))
    await asyncio.sleep(0.2)
    events = await w.events(0)
    assert not task.done()  # the answer is held back ...
    assert events[-1]["op"] == "reserve" and events[-1]["outcome"] == "applied"  # ... applied
    await task
    outcomes = [(e["op"], e["outcome"]) for e in events]
    assert outcomes == [("charge", "declined"), ("email", "failed"), ("reserve", "applied")]
    assert [e["op"] for e in (await w.ledger())["effects"]] == ["reserve"]


async def test_a_repeat_of_a_call_with_its_own_duration_ends_when_the_first_does(world):
    """An upload that takes its ETA: a retry after a kill answers when the upload is done,
    not a whole ETA later (a real API does the work once)."""
    w, _ = world
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    first = asyncio.create_task(w.call("upload", key="u", idem="up-u", latency_ms=800))
    await asyncio.sleep(0.4)
    again = await w.call("upload", key="u", idem="up-u", latency_ms=800)  # a retry meanwhile
    assert again == await first
    assert 0.75 < loop.time() - t0 < 1.15  # one ETA in all, not 0.4 s + a second one
    t1 = loop.time()
    await w.call("upload", key="u", idem="up-u", latency_ms=800)  # after it is done
    assert loop.time() - t1 < 0.4


async def test_events_long_poll_wakes_on_a_new_call(world):
    w, _ = world
    waiter = asyncio.create_task(w.events(0, wait=10))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await w.call("email", key="u1", idem="m1")
    events = await asyncio.wait_for(waiter, 5)
    assert [e["key"] for e in events] == ["u1"]


async def test_unknown_operation_is_rejected(world):
    w, _ = world
    with pytest.raises(WorldUnavailable, match="404"):
        await w.call("teleport", key="x")


async def test_ledger_survives_a_kill_of_the_world(world):
    w, proc = world
    await w.call("charge", key="p", idem="k", amount=1, account="a")
    await proc.kill()
    await proc.start()
    await w.close()
    again = await w.call("charge", key="p", idem="k", amount=1, account="a")
    ledger = await w.ledger()
    assert again == json.loads(ledger["effects"][0]["response"])
    assert [c["outcome"] for c in ledger["calls"]] == ["applied", "duplicate"]


async def test_fail_attempts_knob_fails_the_first_attempts_of_each_call(world):
    w, _ = world
    await w.set_knob("reserve", fail_attempts=2)
    for _ in range(2):
        with pytest.raises(WorldUnavailable, match="503"):
            await w.call("reserve", key="r", idem="x")
    assert (await w.call("reserve", key="r", idem="x"))["op"] == "reserve"
    with pytest.raises(WorldUnavailable):  # another call starts counting afresh
        await w.call("reserve", key="r2", idem="y")


async def test_webhooks_are_delivered_as_planned_and_redelivered_until_accepted(world):
    from aiohttp import web

    w, _ = world
    got: list[tuple[str, dict]] = []
    refused = set()

    async def hook(request):
        idem = request.headers["idempotency-key"]
        if idem not in refused:  # refuse each delivery's first attempt, as a restart would
            refused.add(idem)
            return web.Response(status=503)
        got.append((idem, await request.json()))
        return web.json_response({})

    async with hook_server("/hooks/confirm", hook) as url:
        await w.call("charge", key="p0", idem="c0", webhook={"path": "/hooks/confirm", "body": {}})
        await w.webhooks(url, {"p1": [0.1, 0.3], "p2": []})
        for p in ("p1", "p2"):
            hook_spec = {"path": "/hooks/confirm", "body": {"payment": p}}
            await w.call("charge", key=p, idem=f"c-{p}", webhook=hook_spec)
            await w.call("charge", key=p, idem=f"c-{p}", webhook=hook_spec)  # a retry: no new hooks
        for _ in range(50):
            if len(got) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
    assert [(i, b["payment"], b["delivery"]) for i, b in got] == [
        ("p1:webhook:1", "p1", 1),
        ("p1:webhook:2", "p1", 2),
    ]
    calls = [c for c in (await w.ledger())["calls"] if c["op"] == "webhook"]
    by_delivery: dict[str, list[str]] = {}
    for c in calls:
        by_delivery.setdefault(c["idem"], []).append(c["outcome"])
    assert by_delivery == {
        "p0:webhook:1": ["failed"],  # no base_url yet: recorded, not delivered
        "p1:webhook:1": ["failed", "applied"],
        "p1:webhook:2": ["failed", "applied"],
    }


async def test_delivery_faults_duplicate_reorder_and_delay_planned_deliveries(world):
    """Issue 30: armed delivery faults change the next planned deliveries they fit: a copy
    as a request of its own, the second of two deliveries first, one made late (aimed at
    its key, passing others by); a fault no delivery fits stays armed until disarmed."""
    from aiohttp import web

    w, _ = world
    got: list[tuple[float, str, int]] = []

    async def hook(request):
        body = await request.json()
        got.append((time.monotonic(), request.headers["idempotency-key"], body["delivery"]))
        return web.json_response({})

    async with hook_server("/hook", hook) as url:
        plans = {"dup": [0.0], "two": [0.0, 0.2], "late": [0.0]}
        await w.webhooks(url, plans)
        await w.arm_delivery(3, "late-delivery", {"delay_s": 0.8, "key": "late"})  # aimed
        await w.arm_delivery(1, "reorder-delivery", {"delay_s": 0.6, "within_s": 5})
        await w.arm_delivery(2, "duplicate-delivery", {"delay_s": 0.1, "within_s": 5})
        await w.call("charge", key="dup", idem="c-dup", webhook={"path": "/hook"})  # 2 fits
        t0 = time.monotonic()
        await w.call("charge", key="two", idem="c-two", webhook={"path": "/hook"})  # 1 fits
        await w.call("charge", key="late", idem="c-late", webhook={"path": "/hook"})  # 3
        await w.arm_delivery(4, "reorder-delivery", {"delay_s": 0.1, "within_s": 5})
        for _ in range(40):
            if len(got) >= 5:
                break
            await asyncio.sleep(0.1)
        assert await w.delivery_fault(4) is None  # nothing fitted: still waiting
        assert await w.delivery_fault(4, disarm=True) is None
        applied = {n: await w.delivery_fault(n) for n in (1, 2, 3)}
    assert {n: a["key"] for n, a in applied.items()} == {1: "two", 2: "dup", 3: "late"}
    order = [(idem, n) for _, idem, n in sorted(got)]
    assert ("dup:webhook:1", 1) in order and ("dup:webhook:1:copy", 1) in order
    two = [x for x in order if x[0].startswith("two:")]
    assert two == [("two:webhook:2", 2), ("two:webhook:1", 1)]  # the second one first
    at = {idem: t - t0 for t, idem, _ in got}
    assert at["two:webhook:1"] >= 0.6 and at["late:webhook:1"] >= 0.8
    faults = [c for c in (await w.ledger())["calls"] if c["op"] == "webhook-fault"]
    assert sorted(json.loads(c["request"])["fault"] for c in faults) == [1, 2, 3]


async def test_the_checker_sees_an_upload_done_when_the_world_told_the_service(world):
    """One truth: however a service retries an upload (a shorter ETA, a longer one, at the
    same time, after it is done), no answer says "done" before the time the sync-async
    checker takes from the ledger; an email sent on the first answer passes the check,
    one sent before it is flagged."""
    from harness.checkers.preconditions import check_preconditions, done_at

    w, _ = world
    told: list[float] = []

    async def upload(latency_ms: int) -> None:
        await w.call("upload", key="u", idem="up-u", latency_ms=latency_ms)
        told.append(time.time())

    first = asyncio.create_task(upload(1200))
    await asyncio.sleep(0.2)
    early = time.time()  # the upload is under way, not done
    await w.call("email", key="early:url", idem="e-early")
    shorter = asyncio.create_task(upload(300))  # a retry asking for less: still the first's end
    longer = asyncio.create_task(upload(3000))  # concurrent, asking for more: the same end
    await asyncio.gather(first, shorter, longer)
    await w.call("email", key="u:url", idem="e-u")  # on the first answer
    await upload(1200)  # late: answered at once
    ledger = await w.ledger()
    done = done_at(ledger, "upload")["u"]
    assert done - early > 0.9  # the first call's ETA, from its start
    assert min(told) >= done - 0.01  # no answer before the ledger's done time
    assert max(told[:3]) - min(told[:3]) < 0.3  # the three in flight answered together
    assert told[3] - max(told[:3]) < 0.3  # the late one at once

    def verdict(email_key: str) -> object:
        mine = {**ledger, "effects": [
            e for e in ledger["effects"] if e["op"] == "upload" or e["key"] == email_key
        ]}  # fmt: skip
        return check_preconditions(mine, "email", "upload", lambda k: "u").valid

    assert verdict("u:url") is True
    assert verdict("early:url") is False
