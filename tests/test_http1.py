"""The ingress client's HTTP/1.1 layer against a real (tiny) server on loopback: parsing,
keep-alive, and the three ways a request can go wrong, told apart."""

import asyncio

import pytest

from harness.runtime.ports import PortAllocator
from harness.workload.http1 import Abandoned, ConnectError, Disconnected, Http1Client


async def serve(handler):
    """A loopback server; `handler(request_head, writer)` answers one request."""
    connections = []

    async def on_client(reader, writer):
        connections.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                if not await handler(head, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], connections


async def test_content_length_and_chunked_answers_over_one_kept_alive_connection():
    async def answer(head, body, writer):
        if head.startswith(b"POST /a "):
            assert b"idempotency-key: k1" in head and body == b'{"x":1}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        else:
            writer.write(
                b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"3\r\nbad\r\n4\r\n one\r\n0\r\n\r\n"
            )
        return True

    server, port, connections = await serve(answer)
    async with server, Http1Client("127.0.0.1", port, limit=4) as client:
        got = await client.request("POST", "/a", {"idempotency-key": "k1"}, b'{"x":1}', 5)
        assert got == (200, b"hello")
        assert await client.request("GET", "/b", {}, None, 5) == (500, b"bad one")
        assert len(connections) == 1  # the second request reused the connection


async def test_refused_is_not_sent_and_a_broken_connection_or_a_timeout_is_unknown():
    alloc = PortAllocator()
    port = alloc.allocate()  # reserved and not listening: refused
    try:
        async with Http1Client("127.0.0.1", port) as client:
            with pytest.raises(ConnectError):
                await client.request("POST", "/a", {}, b"1", 5)
    finally:
        alloc.release_all()

    async def hang_up(head, body, writer):
        return False  # close without answering: the request was sent

    server, port, _ = await serve(hang_up)
    async with server, Http1Client("127.0.0.1", port) as client:
        with pytest.raises(Disconnected):
            await client.request("POST", "/a", {}, b"1", 5)

    async def never(head, body, writer):
        await asyncio.sleep(10)
        return True

    server, port, _ = await serve(never)
    async with server, Http1Client("127.0.0.1", port) as client:
        with pytest.raises(TimeoutError):
            await client.request("POST", "/a", {}, b"1", 0.2)


async def test_an_abandoned_request_ends_at_once_and_its_connection_is_closed():
    async def never(head, body, writer):
        await asyncio.sleep(30)
        return True

    server, port, connections = await serve(never)
    async with server, Http1Client("127.0.0.1", port) as client:
        assert not client.abandon("t", "not sent yet")
        call = asyncio.create_task(client.request("POST", "/a", {}, b"1", 30, tag="t"))
        while not connections:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert client.abandon("t", "its key is wedged")
        async with asyncio.timeout(5):  # not its 30 s timeout
            with pytest.raises(Abandoned, match="its key is wedged"):
                await call
        assert not client.abandon("t", "again")  # done: nothing to abandon
        assert client._open == set()
