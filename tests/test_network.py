"""The network proxy on the path server -> service, with the real restate-server and a real
service: HTTP/2 passes, and each fault does what it says to the invocations in flight."""

import asyncio
import json
import time

import aiohttp
import pytest

from bench.topology import counter_topology
from harness.network.link import ProxyProcess
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry


@pytest.fixture
async def path(tmp_path):
    """A server, the slow counter, and the proxy's link between them (registered)."""
    reg, alloc = ProcessRegistry(), PortAllocator()
    server, service = counter_topology(tmp_path, reg, alloc, "tests.data.slow_counter:app")
    proxy = ProxyProcess(alloc.allocate(), tmp_path, registry=reg)
    try:
        await server.start()
        await service.start()
        await proxy.start()
        link = await proxy.add("counter", alloc.allocate(), service.port)
        assert await service.register(server.admin, link.uri) == ["Counter"]
        yield server, link, proxy
    finally:
        await proxy.close()
        await server.close()
        reg.kill_all()
        alloc.release_all()
        assert reg.leaks() == []


async def call(server, handler, key, body=None, idem=None):
    headers = {"idempotency-key": idem} if idem else {}
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            f"{server.ingress_url}/Counter/{key}/{handler}",
            **({"skip_auto_headers": ["Content-Type"]} if body is None else {"json": body}),
            headers=headers,
        ) as r,
    ):
        assert r.status == 200, await r.text()
        return await r.json()


async def until(predicate, timeout=5.0):
    t0 = time.monotonic()
    while not await predicate():
        assert time.monotonic() - t0 < timeout, "condition not reached"
        await asyncio.sleep(0.02)


def events(proxy):
    return [json.loads(line) for line in proxy.events_path.read_text().splitlines()]


async def test_reset_cuts_the_streams_in_flight_and_restate_retries_them(path):
    server, link, proxy = path
    calls = [asyncio.create_task(call(server, "add", f"k{i}", 1.0, f"i{i}")) for i in range(4)]
    await until(lambda: in_flight(link, 4))
    answer = await link.reset()
    assert answer["before"]["in_flight"] == 4 and answer["streams"] == 4
    assert await asyncio.gather(*calls) == [1, 1, 1, 1]  # retried: each added once
    for i in range(4):  # the service ran a second attempt of each, in the same process
        assert await call(server, "attempts", f"k{i}") == 2
    resets = [e for e in events(proxy) if e["event"] == "reset"]
    assert len(resets) == 4 and all(e["replied"] for e in resets)
    assert (await link.stats())["in_flight"] == 0


async def in_flight(link, n):
    return (await link.stats())["in_flight"] >= n


async def test_fail_nth_resets_exactly_that_attempt(path):
    server, link, _ = path
    await link.fail_nth(2)
    for i in range(3):  # one at a time: the 2nd attempt from now is k1's first
        assert await call(server, "add", f"n{i}", 0.05, f"n{i}") == 1
    assert [await call(server, "attempts", f"n{i}") for i in range(3)] == [1, 2, 1]
    assert (await link.stats())["nth"] is None  # fired once, disarmed


async def test_latency_holds_every_invocation_and_heal_lifts_it(path):
    server, link, _ = path
    await call(server, "add", "warm", 0.0)
    t0 = time.monotonic()
    await call(server, "add", "fast", 0.0)
    direct = time.monotonic() - t0
    await link.set(latency_ms=300)
    t0 = time.monotonic()
    await call(server, "add", "slow", 0.0)
    held = time.monotonic() - t0
    assert held >= 0.6 > direct  # held at least once each way
    await link.set()
    t0 = time.monotonic()
    await call(server, "add", "fast", 0.0)
    assert time.monotonic() - t0 < 0.3


async def test_blackhole_holds_everything_until_undone(path):
    server, link, _ = path
    await call(server, "add", "warm", 0.0)
    await link.set(blackhole=True)
    pending = asyncio.create_task(call(server, "add", "b", 0.0))
    await asyncio.sleep(1.0)
    assert not pending.done()  # nothing passes
    await link.set()
    assert await asyncio.wait_for(pending, 10) == 1  # the held bytes flow: it completes


async def test_reset_connections_and_a_dead_service_are_connection_errors(path):
    server, link, _ = path
    slow = asyncio.create_task(call(server, "add", "c", 1.0, "c1"))
    await until(lambda: in_flight(link, 1))
    answer = await link.reset("connections")
    assert answer["connections"] >= 1
    assert await slow == 1
    assert await call(server, "attempts", "c") == 2


async def test_http1_deployment_passes_and_a_reset_cuts_its_connection(path):
    server, link, _ = path
    await server.admin.register(link.uri, use_http_11=True)  # request-response mode
    assert await call(server, "add", "g", 1.0, "g0") == 1  # uncut: its attempts to compare
    assert (await link.stats())["in_flight"] == 0  # an idle keep-alive connection is not
    slow = asyncio.create_task(call(server, "add", "h", 1.0, "h0"))
    await until(lambda: in_flight(link, 1))
    assert (await link.reset())["streams"] == 1
    assert await slow == 1
    # request-response mode takes a round trip per journal entry; the cut took one more
    assert await call(server, "attempts", "h") == await call(server, "attempts", "g") + 1


async def test_slow_close_cuts_the_service_side_and_the_server_learns_late(path):
    server, link, _ = path
    await call(server, "add", "warm", 0.0)

    async def cut_after(how, key):
        slow = asyncio.create_task(call(server, "add", key, 0.3, key))
        await until(lambda: in_flight(link, 1))
        t0 = time.monotonic()
        await how()
        assert await slow == 1
        return time.monotonic() - t0

    async def slow_close():
        await link.set(slow_close_ms=1000)
        assert (await link.reset("service-side"))["connections"] >= 1

    quick = await cut_after(lambda: link.reset("connections"), "q")
    late = await cut_after(slow_close, "s")
    await link.set()
    assert late >= 1.0 > quick  # the retry waited for the close to reach the server
