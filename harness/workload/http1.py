"""A lean HTTP/1.1 client for the ingress: keep-alive connections, one request at a time
on each, responses parsed by httptools (llhttp, the parser of Node.js and uvicorn).

Why not aiohttp here: measured through the same ingress and handler (bench/driver_vs_wrk.py),
aiohttp's per-request machinery costs the client about three times what the request itself
does, and on 2 cores the client competes with restate-server and the service for CPU: a
plain keep-alive client reaches wrk's pace, aiohttp 0.85x. The ingress is our own loopback
endpoint, so this client needs only what it speaks: content-length or chunked responses,
keep-alive, and errors told apart the way the history needs them (refused: never sent;
anything after sending: unknown outcome).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

import httptools


class ConnectError(ConnectionError):
    """The connection was refused or could not be made: the request was never sent."""


class Disconnected(ConnectionError):
    """The connection broke after the request was sent: its outcome is unknown."""


class Abandoned(Exception):
    """The caller gave up waiting for the answer (`Http1Client.abandon`): outcome unknown."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self._body: list[bytes] = []
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self.fail(Disconnected(f"bad response: {e}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.fail(Disconnected(f"server disconnected{f': {exc}' if exc else ''}"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            status = self.parser.get_status_code()
            self._waiter.set_result((status, b"".join(self._body), self.parser.should_keep_alive()))

    def fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    async def roundtrip(self, request: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None
        self._body = []
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Http1Client:
    """Requests to one host:port over at most `limit` keep-alive connections."""

    def __init__(self, host: str, port: int, limit: int = 64):
        self.host, self.port = host, port
        self._host_header = f"Host: {host}:{port}\r\n".encode()
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(limit)
        self._open: set[_Connection] = set()
        self._waiting: dict[Hashable, _Connection] = {}  # by the caller's tag

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await loop.create_connection(_Connection, self.host, self.port)
        except OSError as e:
            raise ConnectError(f"cannot connect to {self.host}:{self.port}: {e}") from e
        self._open.add(conn)
        return conn

    async def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: float,
        tag: Hashable | None = None,
    ) -> tuple[int, bytes]:
        """(status, body). Raises ConnectError (not sent), Disconnected, TimeoutError or
        Abandoned (sent, outcome unknown). `tag` names the request for `abandon`."""
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self._host_header]
        head += [f"{k}: {v}\r\n".encode() for k, v in headers.items()]
        head.append(f"Content-Length: {len(body or b'')}\r\n\r\n".encode())
        data = b"".join(head) + (body or b"")
        async with self._slots:
            conn = None
            while self._idle and conn is None:
                conn = self._idle.pop()
                if conn.closed:
                    self._open.discard(conn)
                    conn = None
            deadline = asyncio.get_running_loop().time() + timeout
            if conn is None:
                try:
                    async with asyncio.timeout_at(deadline):
                        conn = await self._connect()
                except TimeoutError as e:  # nothing was sent yet
                    raise ConnectError(f"no connection within {timeout:g}s") from e
            if tag is not None:
                self._waiting[tag] = conn
            try:
                async with asyncio.timeout_at(deadline):
                    status, payload, keep = await conn.roundtrip(data)
            except BaseException:
                conn.close()
                self._open.discard(conn)
                raise
            finally:
                if tag is not None:
                    del self._waiting[tag]
            if keep and not conn.closed:
                self._idle.append(conn)
            else:
                conn.close()
                self._open.discard(conn)
            return status, payload

    def abandon(self, tag: Hashable, why: str) -> bool:
        """Stop waiting for the answer to request `tag` (it raises Abandoned, its
        connection is closed); False if it is not waiting for one."""
        conn = self._waiting.get(tag)
        if conn is None:
            return False
        conn.fail(Abandoned(why))
        return True

    async def close(self) -> None:
        for conn in list(self._open):
            conn.close()
        self._open.clear()
        self._idle.clear()

    async def __aenter__(self) -> Http1Client:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
