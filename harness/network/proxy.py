"""The proxy on the path restate-server -> service: one process, one listening port per
service (a link), faults switched on and off by JSON lines on a control port.

    python -m harness.network.proxy CONTROL_PORT EVENTS_FILE

Links are added by the control command {"op": "add", "link": NAME, "listen": PORT,
"upstream": PORT}.

Why a TCP proxy that reads HTTP/2 frame headers (not an HTTP/2-terminating proxy, not
Toxiproxy): it forwards the bytes as they are, so the server and the service negotiate
HTTP/2 (settings, flow-control windows, pings) with each other exactly as they would
without it, and an HTTP/1.1 deployment passes the same way. The 9-byte frame header is all
it reads: a new stream from the server is an invocation attempt, so it can count attempts
and reset one stream (RST_STREAM to both ends) while the others on the connection go on.
Toxiproxy is not packaged where this machine installs from, and it faults whole
connections only: it cannot reset one stream of a multiplexed connection.

Faults: latency (each chunk held `latency_ms` plus up to `jitter_ms`, order kept), blackhole
(nothing is read or written, new connections are accepted and left waiting; undone, the
held bytes flow, like a partition that heals), slow close (a side's close reaches the other
side `slow_close_ms` later), reset of the streams or connections in flight, and fail-nth
(reset the stream of the Nth invocation attempt from now). An HTTP/1.1 connection carries
one request at a time, so there a stream reset resets the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 8, 9
END_STREAM = 0x1
CANCEL = 0x8
READ = 65536
# a stream whose reply headers have not passed yet is reset once they do, so that no header
# block (whose HPACK state both ends share) is ever dropped; one that sends none this long
# after its reset was asked for is reset anyway
RESET_WAIT = 1.0


def frame(type_: int, flags: int, stream: int, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([type_, flags])
        + struct.pack(">I", stream & 0x7FFFFFFF)
        + payload
    )


def rst_stream(stream: int) -> bytes:
    return frame(RST_STREAM, 0, stream, struct.pack(">I", CANCEL))


def window_update(increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", increment))


@dataclass
class Stream:
    attempt: int  # the link's count of invocation attempts when it began
    replied: bool = False  # the service's reply headers passed
    ended: int = 0  # sides that ended it (END_STREAM): 2 is done
    reset_asked: float | None = None  # monotonic time a reset was asked for


@dataclass
class Conditions:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    blackhole: bool = False
    slow_close_ms: float = 0.0


class Pipe:
    """One direction of a connection: reads, parses frames, and writes in order (after
    any latency); while blackholed it neither reads nor writes."""

    def __init__(
        self,
        conn: Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream: bool,
    ):
        self.conn = conn
        self.reader = reader
        self.writer = writer
        self.upstream = upstream  # server -> service
        self.queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        self.buf = b""
        self.release = 0.0  # release time of the last queued chunk (order is kept)

    def send(self, data: bytes) -> None:
        """Queue bytes for this direction's far end, after the link's latency."""
        c = self.conn.link.conditions
        delay = 0.0
        if c.latency_ms or c.jitter_ms:
            delay = (c.latency_ms + self.conn.link.rng.uniform(0, c.jitter_ms)) / 1000
        self.release = max(self.release, time.monotonic() + delay)
        self.queue.put_nowait((self.release, data))

    async def read_loop(self) -> None:
        link = self.conn.link
        try:
            while True:
                await link.open.wait()
                chunk = await self.reader.read(READ)
                if not chunk:
                    break
                await link.open.wait()  # a blackhole that began while reading holds it
                out = self.conn.parse(self, chunk)
                if out:
                    self.send(out)
        except (ConnectionError, OSError):
            pass
        finally:
            # a side that closed sends nothing more: no stream on the connection can end
            # properly now (a server that keeps its half open would keep them in the books)
            self.conn.streams.clear()
            if link.conditions.slow_close_ms:
                await asyncio.sleep(link.conditions.slow_close_ms / 1000)
            self.queue.put_nowait(None)

    async def write_loop(self) -> None:
        link = self.conn.link
        try:
            while (item := await self.queue.get()) is not None:
                at, data = item
                if (wait := at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                await link.open.wait()
                self.writer.write(data)
                await self.writer.drain()
            if self.writer.can_write_eof():
                self.writer.write_eof()
        except (ConnectionError, OSError):
            pass


class Connection:
    def __init__(self, link: Link, number: int):
        self.link = link
        self.number = number
        self.http2: bool | None = None  # known after the server's first bytes
        self.streams: dict[int, Stream] = {}
        self.dropped: set[int] = set()  # streams we reset: their later frames are dropped
        self.pipes: list[Pipe] = []

    @property
    def down(self) -> Pipe:  # towards the server
        return self.pipes[1]

    @property
    def up(self) -> Pipe:  # towards the service
        return self.pipes[0]

    def parse(self, pipe: Pipe, chunk: bytes) -> bytes:
        """The bytes of `chunk` to forward; counts and resets streams on the way."""
        if self.http2 is None and pipe.upstream:
            self.http2 = chunk.startswith(PREFACE[: len(chunk)]) and len(chunk) >= len(PREFACE)
            if self.http2:
                pipe.buf, out = chunk[len(PREFACE) :], [PREFACE]
        elif self.http2:
            pipe.buf += chunk
            out = []
        if not self.http2:
            self.http1(pipe, chunk)
            return chunk
        buf, pos, resets = pipe.buf, 0, []
        while len(buf) - pos >= 9:
            length = int.from_bytes(buf[pos : pos + 3], "big")
            if len(buf) - pos < 9 + length:
                break
            type_, flags = buf[pos + 3], buf[pos + 4]
            sid = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            raw = buf[pos : pos + 9 + length]
            pos += 9 + length
            if sid and sid in self.dropped:
                if type_ == DATA and length:  # give the sender back its connection window
                    (self.up if not pipe.upstream else self.down).send(window_update(length))
                if type_ in (HEADERS, CONTINUATION):  # never break the shared HPACK state
                    out.append(raw)
                continue
            out.append(raw)
            if not sid:
                continue
            s = self.streams.get(sid)
            if type_ == HEADERS and pipe.upstream and s is None:
                self.link.attempts += 1
                s = self.streams[sid] = Stream(self.link.attempts)
                self.link.check_nth(self, sid)
            if s is None:
                continue
            if type_ == RST_STREAM:
                del self.streams[sid]
                continue
            if type_ == HEADERS and not pipe.upstream:
                s.replied = True
                if s.reset_asked is not None:
                    resets.append(sid)
            if type_ in (DATA, HEADERS) and flags & END_STREAM:
                s.ended += 1
                if s.ended == 2:
                    del self.streams[sid]
        pipe.buf = buf[pos:]
        data = b"".join(out)
        if resets:  # reply headers just passed: forward them, then reset
            pipe.send(data)
            for sid in resets:
                self.reset_stream(sid)
            return b""
        return data

    def http1(self, pipe: Pipe, chunk: bytes) -> None:
        """HTTP/1.1 carries one request at a time per connection: a request is in flight
        from the server's first bytes until the last chunk of the service's chunked answer
        (how a Restate SDK answers in request-response mode)."""
        if pipe.upstream and 0 not in self.streams:
            self.link.attempts += 1
            self.streams[0] = Stream(self.link.attempts)
            self.link.check_nth(self, 0)
        elif not pipe.upstream and chunk.endswith(b"0\r\n\r\n"):
            self.streams.pop(0, None)

    def reset_stream(self, sid: int) -> bool:
        """Reset one stream: RST_STREAM(CANCEL) to both ends, its later frames dropped.
        A stream whose reply headers have not passed yet is reset when they do."""
        s = self.streams.get(sid)
        if s is None:
            return False
        if not self.http2:  # HTTP/1.1: the connection is the request
            self.abort()
            self.link.log("reset", conn=self.number, attempt=s.attempt, http2=False)
            return True
        waited = 0.0 if s.reset_asked is None else time.monotonic() - s.reset_asked
        if not s.replied and waited < RESET_WAIT * 0.9:
            if s.reset_asked is None:
                s.reset_asked = time.monotonic()
                asyncio.get_running_loop().call_later(RESET_WAIT, self.reset_stream, sid)
            return True
        del self.streams[sid]
        self.dropped.add(sid)
        self.up.send(rst_stream(sid))
        self.down.send(rst_stream(sid))
        self.link.resets += 1
        self.link.log("reset", conn=self.number, stream=sid, attempt=s.attempt, replied=s.replied)
        return True

    def abort(self, service_side_only: bool = False) -> None:
        """Reset the connection: both sockets closed abortively, or only the service's
        (the server then learns of it as a close, `slow_close_ms` late if set)."""
        for p in self.pipes[:1] if service_side_only else self.pipes:
            p.reader.feed_eof()
            transport = p.writer.transport
            sock = transport.get_extra_info("socket")
            if sock is not None:  # RST, not FIN
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()


class Link:
    """One service's path: connections accepted on `listen`, forwarded to `upstream`."""

    def __init__(self, name: str, listen: int, upstream: int, events: Any):
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.events = events
        self.conditions = Conditions()
        self.open = asyncio.Event()
        self.open.set()
        self.rng = random.Random(f"{name}:{listen}")
        self.connections: dict[int, Connection] = {}
        self.accepted = 0
        self.attempts = 0  # invocation attempts seen (HTTP/2 streams, HTTP/1.1 requests)
        self.resets = 0
        self.nth: int | None = None  # reset the stream of this attempt (absolute count)

    def log(self, event: str, **fields: Any) -> None:
        rec = {"t": time.time(), "link": self.name, "event": event, **fields}
        self.events.write(json.dumps(rec) + "\n")
        self.events.flush()

    def stats(self) -> dict[str, Any]:
        return {
            "connections": len(self.connections),
            "in_flight": sum(len(c.streams) for c in self.connections.values()),
            "attempts": self.attempts,
            "resets": self.resets,
            "nth": self.nth,
        }

    def check_nth(self, conn: Connection, sid: int) -> None:
        if self.nth is not None and self.attempts == self.nth:
            self.nth = None
            self.log("fail-nth", attempt=self.attempts)
            conn.reset_stream(sid)

    async def serve(self) -> asyncio.Server:
        return await asyncio.start_server(self.accept, HOST, self.listen, reuse_address=True)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        conn = Connection(self, self.accepted)
        await self.open.wait()  # a blackhole accepts and leaves the connection waiting
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream)
        except OSError:  # the service is down: the server sees the connection reset
            writer.transport.abort()
            return
        conn.pipes = [Pipe(conn, reader, up_writer, True), Pipe(conn, up_reader, writer, False)]
        self.connections[conn.number] = conn
        tasks = [asyncio.create_task(f()) for p in conn.pipes for f in (p.read_loop, p.write_loop)]
        try:
            await asyncio.gather(*tasks)
        finally:
            del self.connections[conn.number]
            for w in (writer, up_writer):
                w.close()

    def reset(self, scope: str) -> dict[str, int]:
        """Reset every stream (scope "streams") or connection ("connections") in flight
        now, or cut the service's side of each connection ("service-side")."""
        conns = list(self.connections.values())
        if scope in ("connections", "service-side"):
            for c in conns:
                c.abort(service_side_only=scope == "service-side")
            self.log(f"reset-{scope}", connections=len(conns))
            return {"connections": len(conns)}
        n = sum(c.reset_stream(sid) for c in conns for sid in list(c.streams))
        return {"streams": n}


class Proxy:
    def __init__(self, events: Any):
        self.events = events
        self.links: dict[str, Link] = {}
        self.servers: list[asyncio.Server] = []

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        op = cmd.get("op")
        if op == "stats":
            return {name: link.stats() for name, link in self.links.items()}
        if op == "add":  # a service's path: listen on `listen`, forward to `upstream`
            link = Link(cmd["link"], int(cmd["listen"]), int(cmd["upstream"]), self.events)
            self.servers.append(await link.serve())
            self.links[link.name] = link
            return {}
        link = self.links[cmd["link"]]
        out: dict[str, Any] = {"before": link.stats()}
        if op == "set":  # network conditions; a heal sets them all back to none
            c = link.conditions = Conditions(
                **{k: cmd[k] for k in Conditions.__dataclass_fields__ if k in cmd}
            )
            (link.open.clear if c.blackhole else link.open.set)()
            link.log("set", **c.__dict__)
        elif op == "reset":
            out.update(link.reset(cmd.get("scope", "streams")))
        elif op == "fail-nth":  # the Nth attempt from now; nth=None disarms
            link.nth = None if cmd.get("nth") is None else link.attempts + int(cmd["nth"])
            link.log("arm-nth", nth=link.nth)
        else:
            raise ValueError(f"unknown op {op!r}")
        return out

    async def control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            try:
                answer = {"ok": True, **await self.handle(json.loads(line))}
            except (KeyError, ValueError, TypeError, OSError) as e:
                answer = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            writer.write(json.dumps(answer).encode() + b"\n")
            await writer.drain()
        writer.close()


async def main(control_port: str, events_path: str) -> None:
    with Path(events_path).open("a") as events:
        proxy = Proxy(events)
        server = await asyncio.start_server(proxy.control, HOST, int(control_port))
        print(f"proxy: control on {control_port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
