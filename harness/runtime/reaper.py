"""No orphans, even after kill -9 of the harness.

Three layers, because a service may fork (npm start, shell wrappers) and a fork may even
leave its process group:

1. Every process the harness starts runs in its own process group with PDEATHSIG, and
   carries the environment mark `RESTATE_CHAOS_OWNER=<harness pid>:<start time>`, which
   its descendants inherit.
2. A watchdog (this module's main), started with the first process, in its own session so
   a Ctrl-C or a kill of the harness' group misses it. It holds the read end of a pipe the
   harness writes; at EOF (the harness exited or was killed, -9 included) it kills the
   recorded process groups and every process that carries the harness' mark, then exits.
3. At start the harness sweeps marked processes whose owner is dead (the watchdog was
   killed too, or the machine's pid namespace outlived both) and says what it cleaned.

Chosen over cgroups: no root, no cgroup-v2 delegation or systemd needed, and the mark
also finds a grandchild that called setsid(). A process that clears its environment and
leaves its group escapes: that is a daemon, not a service.

This module is run as `python -m harness.runtime.reaper`: it imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from typing import Any

import psutil

OWNER_ENV = "RESTATE_CHAOS_OWNER"


def owner_mark(pid: int | None = None) -> str:
    """This process' mark: pid and start time (a reused pid has another start time)."""
    p = psutil.Process(pid)
    return f"{p.pid}:{p.create_time():.2f}"


def owner_alive(mark: str) -> bool:
    try:
        return owner_mark(int(mark.partition(":")[0])) == mark
    except psutil.NoSuchProcess:
        return False
    except (ValueError, psutil.Error):
        return True  # a mark we cannot judge: leave its process alone


def _pid_namespace(pid: int | str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return "?"


def marked(owner: str | None = None) -> dict[int, str]:
    """Live processes that carry a mark (`owner`'s, or any): pid -> mark. Only processes
    of our pid namespace: a mark's pid means nothing in another one (a container's)."""
    out = {}
    me, ns = os.getpid(), _pid_namespace("self")
    for p in psutil.process_iter(["pid", "status"]):
        if p.pid == me or p.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            mark = p.environ().get(OWNER_ENV)
        except (psutil.Error, OSError):
            continue
        if mark and _pid_namespace(p.pid) != ns:
            continue
        if mark and (owner is None or mark == owner):
            out[p.pid] = mark
    return out


def kill_pids(pids: list[int]) -> None:
    """SIGKILL each process and its group (a paused one is continued first)."""
    for pid in pids:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                target = os.getpgid(pid) if kill is os.killpg else pid
                if kill is os.killpg and target == os.getpgid(0):
                    continue  # never our own group
                kill(target, signal.SIGCONT)
                kill(target, signal.SIGKILL)


def sweep_leftovers() -> list[str]:
    """Kill the marked processes whose harness is gone, and remove their containers (where
    a Docker engine is configured); describe what was cleaned."""
    dead = {pid: mark for pid, mark in marked().items() if not owner_alive(mark)}
    out = []
    for pid in dead:
        with contextlib.suppress(psutil.Error):
            out.append(f"pid {pid} ({' '.join(psutil.Process(pid).cmdline())[:120]})")
    kill_pids(list(dead))
    return out + sweep_containers()


def _docker() -> Any:
    """A docker-py client if an engine is configured here ($DOCKER_HOST or the default
    socket) and answers; else None (most machines: nothing to sweep)."""
    if not (os.environ.get("DOCKER_HOST") or os.path.exists("/var/run/docker.sock")):
        return None
    try:
        import docker

        client = docker.from_env(timeout=5)
        client.ping()
        return client
    except Exception:
        return None


def sweep_containers() -> list[str]:
    """Remove the containers whose harness (label restate-chaos.owner) is dead."""
    client = _docker()
    if client is None:
        return []
    out = []
    with contextlib.suppress(Exception):
        for c in client.containers.list(all=True, filters={"label": "restate-chaos.owner"}):
            if not owner_alive(c.labels.get("restate-chaos.owner", "")):
                out.append(f"container {c.short_id} ({c.name})")
                with contextlib.suppress(Exception):
                    c.remove(force=True)
    return out


def remove_containers(ids: list[str]) -> None:
    client = _docker()
    for cid in ids if client is not None else []:
        with contextlib.suppress(Exception):
            client.containers.get(cid).remove(force=True)


class Watchdog:
    """The harness' side: starts the watchdog once, tells it each process group."""

    def __init__(self) -> None:
        self.mark = owner_mark()
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the watchdog (again, if it died): before the first process it watches."""
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "harness.runtime.reaper", self.mark],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )

    def watch(self, pgid: int) -> None:
        self._tell(f"{pgid}")

    def forget(self, pgid: int) -> None:
        """The group is gone (the harness killed it): never kill that id at exit."""
        self._tell(f"-g {pgid}")

    def watch_container(self, container_id: str) -> None:
        self._tell(f"c {container_id}")

    def forget_container(self, container_id: str) -> None:
        """Removed by the harness itself: not the watchdog's to remove any more."""
        self._tell(f"-c {container_id}")

    def _tell(self, line: str) -> None:
        self.start()
        assert self._proc is not None and self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.write(f"{line}\n".encode())
            self._proc.stdin.flush()

    def close(self) -> None:
        """Normal exit: the processes are gone already; let the watchdog end."""
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=5)


def main(mark: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the harness' job
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    groups: set[int] = set()
    containers: set[str] = set()
    for line in sys.stdin.buffer:  # until EOF: the harness is gone
        words = line.decode(errors="replace").split()
        with contextlib.suppress(ValueError, IndexError):
            if words[0] == "c":
                containers.add(words[1])
            elif words[0] == "-c":
                containers.discard(words[1])
            elif words[0] == "-g":
                groups.discard(int(words[1]))
            else:
                groups.add(int(words[0]))
    if containers:
        remove_containers(list(containers))
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGCONT)
            os.killpg(pgid, signal.SIGKILL)
    for _ in range(3):  # a process forking while we kill: sweep until none is left
        pids = list(marked(mark))
        if not pids:
            break
        kill_pids(pids)
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
