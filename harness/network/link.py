"""The harness's side of the network proxy (harness/network/proxy.py): the proxy process,
and one Link per service, the fault target of the network fault kinds."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.runtime.ports import HOST, is_listening
from harness.runtime.processes import REGISTRY, START_CAP_S, ProcessRegistry, Supervised


class ProxyProcess(Supervised):
    """One proxy process for the run; a link is added for each service registered
    through it. Not a fault target: it is the network the faults are made in."""

    def __init__(
        self, control_port: int, log_dir: Path, registry: ProcessRegistry = REGISTRY
    ) -> None:
        self.name = "proxy"
        self.control_port = control_port
        self.log_path = log_dir / "proxy.log"
        self.events_path = log_dir / "proxy.jsonl"
        self.registry = registry
        self.links: dict[str, Link] = {}
        self._conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._lock = asyncio.Lock()

    @property
    def ports(self) -> list[int]:
        return [self.control_port]

    async def start(self, timeout: float = START_CAP_S) -> float:
        argv = [sys.executable, "-m", "harness.network.proxy", str(self.control_port)]
        self._spawn([*argv, str(self.events_path)], self.log_path)

        async def listening() -> bool:
            return is_listening(self.control_port)

        return await self._await_ready(listening, f"listening on {self.control_port}", timeout)

    async def command(self, **cmd: Any) -> dict[str, Any]:
        """One control command; the answer, or HarnessError if the proxy refused it."""
        async with self._lock:
            if self._conn is None:
                self._conn = await asyncio.open_connection(HOST, self.control_port)
            reader, writer = self._conn
            writer.write(json.dumps(cmd).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        if not line:
            self._conn = None
            raise HarnessError(f"the network proxy closed its control connection ({cmd})")
        answer = json.loads(line)
        if not answer.pop("ok"):
            raise HarnessError(f"the network proxy refused {cmd}: {answer['error']}")
        return answer

    async def add(self, name: str, listen: int, upstream: int, scheme: str = "http") -> Link:
        """A path to the service on `upstream`: the server is given the link's URI."""
        await self.command(op="add", link=name, listen=listen, upstream=upstream)
        self.links[name] = link = Link(self, name, listen, scheme)
        return link

    async def close(self) -> None:
        if self._conn is not None:
            self._conn[1].close()
            self._conn = None


class Link:
    """The path from the server to one service: what the network fault kinds act on."""

    def __init__(self, proxy: ProxyProcess, name: str, port: int, scheme: str = "http") -> None:
        self.proxy = proxy
        self.name = name
        self.port = port
        self.scheme = scheme  # https passes through as bytes (no stream faults then)

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{HOST}:{self.port}"

    async def set(self, **conditions: Any) -> dict[str, Any]:
        """latency_ms, jitter_ms, blackhole, slow_close_ms; none given: healed."""
        return await self.proxy.command(op="set", link=self.name, **conditions)

    async def reset(self, scope: str = "streams") -> dict[str, Any]:
        return await self.proxy.command(op="reset", link=self.name, scope=scope)

    async def fail_nth(self, nth: int | None) -> dict[str, Any]:
        return await self.proxy.command(op="fail-nth", link=self.name, nth=nth)

    async def stats(self) -> dict[str, Any]:
        return (await self.proxy.command(op="stats"))[self.name]
