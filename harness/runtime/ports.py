"""Loopback port allocation that parallel harness processes cannot collide on.

A port is handed out only if it can be bound on 127.0.0.1 now AND its lock file under the
shared lock folder can be flock'ed; the lock is held until release, so a second pytest
process skips it. Ports come from below the kernel's ephemeral range, so outgoing client
connections never take a port between allocation and the server's bind.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import random
import socket
import tempfile
import time
from pathlib import Path

import psutil

from harness.errors import PortInUse, ProcessFailed

HOST = "127.0.0.1"
PORT_RANGE = (20000, 32000)  # Linux's ephemeral range starts at 32768
LOCK_DIR = Path(os.environ.get("RESTATE_CHAOS_PORT_LOCKS", tempfile.gettempdir())) / (
    "restate-chaos-ports"
)


def can_bind(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def is_listening(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def holder_of(port: int) -> str:
    """Who listens on a port, for error messages ('pid 123 (nginx)' or 'unknown process')."""
    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN:
                if c.pid is None:
                    return "an unknown process"
                try:
                    return f"pid {c.pid} ({psutil.Process(c.pid).name()})"
                except psutil.Error:
                    return f"pid {c.pid}"
    except psutil.Error:
        pass
    return "an unknown process"


def ensure_free(port: int, what: str) -> None:
    if not can_bind(port):
        raise PortInUse(
            f"port {port} on {HOST} (wanted for {what}) is in use by {holder_of(port)}. "
            "Stop that process, or let the harness allocate ports (do not pass a fixed port)."
        )


_HELD: dict[int, int] = {}  # every port held in this process -> fd of its flock'ed lock file


def held_ports() -> list[int]:
    """Ports allocated in this process and not released (a leak at the end of a session)."""
    return sorted(_HELD)


class PortAllocator:
    """Hands out free loopback ports and keeps them reserved until released."""

    def __init__(self, lock_dir: Path = LOCK_DIR, port_range: tuple[int, int] = PORT_RANGE):
        self.lock_dir = lock_dir
        self.port_range = port_range
        self._mine: set[int] = set()
        self._rng = random.SystemRandom()  # port choice is not part of a run's reproducibility

    @property
    def held(self) -> list[int]:
        return sorted(self._mine)

    def allocate(self, attempts: int = 200) -> int:
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(attempts):
            port = self._rng.randrange(*self.port_range)
            if port in _HELD or not can_bind(port):
                continue
            fd = os.open(self.lock_dir / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _HELD[port] = fd
            self._mine.add(port)
            return port
        raise PortInUse(
            f"no free port found in {self.port_range[0]}-{self.port_range[1]} after {attempts} "
            "tries. Are many harness runs in parallel? Stop some, or clear stale processes."
        )

    def release(self, port: int) -> None:
        self._mine.discard(port)
        fd = _HELD.pop(port, None)
        if fd is not None:
            os.close(fd)  # closing drops the flock

    def release_all(self) -> None:
        for port in list(self._mine):
            self.release(port)


async def wait_closed(ports: list[int], what: str, timeout: float = 5.0) -> None:
    """After a kill: the ports must stop accepting connections, or the kill did not land."""
    deadline = time.monotonic() + timeout
    while any(is_listening(p) for p in ports):
        if time.monotonic() > deadline:
            still = [p for p in ports if is_listening(p)]
            raise ProcessFailed(f"{what} was stopped but ports {still} still accept connections")
        await asyncio.sleep(0.02)
