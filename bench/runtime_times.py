"""Runtime timings: server start, service start + registration, kill -> ready after restart.

Prints medians over N rounds, each next to a reference measured in the same run: a bare
`python -c pass` start (the floor for any Python service process). Then a service process
of the harness (`python -m harness.runtime.serve`, a bundled service) against a bare
restate-sdk + hypercorn app (bench/bare_service.py), both timed from spawn to a listening
port, alternating. Nothing is asserted.

    .venv/bin/python bench/runtime_times.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from topology import counter_topology  # bench/topology.py, beside this script

from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry


def until_listening(argv: list[str], port: int) -> float:
    """Seconds from spawn until `port` accepts a connection; the process is then killed."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return time.monotonic() - t0
            if proc.poll() is not None:
                raise RuntimeError(f"{argv} exited with {proc.returncode}")
            time.sleep(0.002)
    finally:
        proc.kill()
        proc.wait()


def service_vs_bare(rounds: int) -> None:
    alloc = PortAllocator()
    bare_py = str(Path(__file__).with_name("bare_service.py"))
    ours, bare = [], []
    try:
        for _ in range(rounds):
            port = alloc.allocate()
            bare.append(until_listening([sys.executable, bare_py, str(port)], port))
            app = "harness.bundled.services.counter:app"
            argv = [sys.executable, "-m", "harness.runtime.serve", app, str(port)]
            ours.append(until_listening(argv, port))
    finally:
        alloc.release_all()
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"\nservice process, spawn -> listening (median of {rounds}, alternating):")
    print(f"  bare restate-sdk + hypercorn app  {b * 1000:6.0f} ms   1.00x")
    print(f"  harness service (counter)         {o * 1000:6.0f} ms   {o / b:.2f}x")


def python_start() -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - t0


async def one_round(tmp: Path, i: int) -> dict[str, float]:
    reg, alloc = ProcessRegistry(), PortAllocator()
    server, service = counter_topology(tmp / f"r{i}", reg, alloc)
    try:
        out = {"server start -> ready": await server.start()}
        t0 = time.monotonic()
        await service.start()
        await service.register(server.admin)
        out["service start + register"] = time.monotonic() - t0
        t0 = time.monotonic()
        await server.kill()
        await server.start()
        out["server kill -> ready"] = time.monotonic() - t0
        t0 = time.monotonic()
        await service.kill()
        await service.start()
        out["service kill -> listening"] = time.monotonic() - t0
        return out
    finally:
        reg.kill_all()
        await server.close()
        alloc.release_all()


async def main(rounds: int) -> None:
    ref = statistics.median(python_start() for _ in range(rounds))
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            for k, v in (await one_round(Path(tmp), i)).items():
                results.setdefault(k, []).append(v)
    print(f"rounds: {rounds}; reference `python -c pass`: {ref * 1000:.0f} ms")
    print(f"{'measure':28} {'median ms':>10} {'min ms':>8} {'max ms':>8} {'x ref':>6}")
    for k, vs in results.items():
        med = statistics.median(vs)
        print(
            f"{k:28} {med * 1000:10.0f} {min(vs) * 1000:8.0f} {max(vs) * 1000:8.0f} "
            f"{med / ref:6.1f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    asyncio.run(main(rounds))
    service_vs_bare(rounds)
