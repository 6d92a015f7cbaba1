"""Load driver throughput against wrk, through the same ingress and handler, in one run.

Starts restate-server and the bundled Counter service, then alternates rounds of:
wrk (C connections), a bare aiohttp client (C workers, no history), and the harness's
Driver with full history (C concurrent requests). Each round lasts S seconds and adds 1 to
one of 256 counters per request (the keys cycle). Prints requests per second and each
client's ratio to wrk's median. Installs wrk from Debian's packages when missing (root).
Nothing is asserted.

    .venv/bin/python bench/driver_vs_wrk.py [--rounds 3] [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from topology import counter_topology  # bench/topology.py, beside this script

from harness.runtime.admin import MismatchWatch
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry
from harness.runtime.server import RestateServer
from harness.workload.client import IngressClient, Request
from harness.workload.driver import Driver
from harness.workload.history import History

KEYS = 256
WRK_SCRIPT = """
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/Counter/c" .. (counter % KEYS) .. "/add", nil, "1")
end
""".replace("KEYS", str(KEYS))


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk missing: installing it from Debian's packages (apt-get install wrk)")
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("wrk is still not on PATH")


def wrk_round(wrk: str, url: str, script: Path, seconds: float, connections: int) -> float:
    out = subprocess.run(
        [wrk, "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


async def aiohttp_round(url: str, seconds: float, connections: int) -> float:
    done = 0
    keys = itertools.cycle(range(KEYS))
    stop = time.monotonic() + seconds
    conn = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                path = f"{url}/Counter/c{next(keys)}/add"
                headers = {"content-type": "application/json"}
                async with session.post(path, data="1", headers=headers) as resp:
                    await resp.read()
                done += 1

        t0 = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
    return done / (time.monotonic() - t0)


async def driver_round(
    server: RestateServer, seconds: float, connections: int, tmp: Path, i: int
) -> float:
    """The driver as a run drives: full history, every attempt watched for a wedged key."""
    history = History(tmp / f"history-{i}.jsonl")
    requests = [Request("Counter", "add", key=f"c{k % KEYS}", body=1) for k in range(200_000)]
    url = server.ingress_url
    async with IngressClient(url, history, connections=connections) as client, history.buffered():
        watch = MismatchWatch(server.admin, ["Counter"])
        driver = Driver(
            client, concurrency=connections, wedged=lambda r: watch.why(r.service, r.key, r.idem)
        )
        t0 = time.monotonic()
        await driver.run(requests, duration=seconds)
        elapsed = time.monotonic() - t0
    history.close()
    return driver.stats.ok / elapsed


async def main(rounds: int, seconds: float, connections: int) -> None:
    wrk = ensure_wrk()
    reg, alloc = ProcessRegistry(), PortAllocator()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        server, service = counter_topology(tmp, reg, alloc)
        script = tmp / "post.lua"
        script.write_text(WRK_SCRIPT)
        results: dict[str, list[float]] = {"wrk": [], "aiohttp (bare)": [], "driver": []}
        try:
            await server.start()
            await service.start()
            await service.register(server.admin)
            url = server.ingress_url
            await aiohttp_round(url, 1.0, connections)  # warm-up: connections, partitions
            for i in range(rounds):
                results["wrk"].append(wrk_round(wrk, url, script, seconds, connections))
                results["aiohttp (bare)"].append(await aiohttp_round(url, seconds, connections))
                results["driver"].append(await driver_round(server, seconds, connections, tmp, i))
        finally:
            reg.kill_all()
            await server.close()
            alloc.release_all()
    ref = statistics.median(results["wrk"])
    print(f"{rounds} alternating rounds of {seconds:g} s, {connections} connections, {KEYS} keys")
    print(f"{'client':16} {'median req/s':>12} {'min':>8} {'max':>8} {'x wrk':>7}")
    for name, vs in results.items():
        med = statistics.median(vs)
        print(f"{name:16} {med:12.0f} {min(vs):8.0f} {max(vs):8.0f} {med / ref:7.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.seconds, args.connections))
