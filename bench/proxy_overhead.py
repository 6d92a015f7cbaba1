"""Throughput through the network proxy against a direct registration, in one run.

Starts restate-server and the bundled Counter service, and the proxy with a link to the
service. Alternates rounds of wrk against the ingress while the service is registered
directly, then through the proxy (a forced re-registration of the same endpoint at the
link's port). Prints requests per second and the proxy's ratio to the direct median, and
the proxy's CPU seconds per 1000 requests. Nothing is asserted.

    .venv/bin/python bench/proxy_overhead.py [--rounds 3] [--seconds 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

import psutil
from driver_vs_wrk import WRK_SCRIPT, ensure_wrk, wrk_round  # beside this script
from topology import counter_topology

from harness.network.link import ProxyProcess
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry


async def main(rounds: int, seconds: float, connections: int) -> None:
    wrk = ensure_wrk()
    reg, alloc = ProcessRegistry(), PortAllocator()
    with tempfile.TemporaryDirectory() as tmp:
        node = Path(tmp)
        script = node / "wrk.lua"
        script.write_text(WRK_SCRIPT)
        server, service = counter_topology(node, reg, alloc)
        proxy = ProxyProcess(alloc.allocate(), node, registry=reg)
        try:
            await server.start()
            await service.start()
            await proxy.start()
            link = await proxy.add("counter", alloc.allocate(), service.port)
            cpu = psutil.Process(proxy.proc.pid)
            direct, proxied, cpu_per_k = [], [], []
            for _ in range(rounds):
                for via, out in ((service.uri, direct), (link.uri, proxied)):
                    await server.admin.register(via)
                    before = cpu.cpu_times()
                    rate = wrk_round(wrk, server.ingress_url, script, seconds, connections)
                    out.append(rate)
                    if via == link.uri:
                        after = cpu.cpu_times()
                        used = after.user + after.system - before.user - before.system
                        cpu_per_k.append(used / (rate * seconds) * 1000)
            d, p = statistics.median(direct), statistics.median(proxied)
            print(f"direct  req/s: {' '.join(f'{r:.0f}' for r in direct)} (median {d:.0f})")
            print(f"proxied req/s: {' '.join(f'{r:.0f}' for r in proxied)} (median {p:.0f})")
            print(f"proxied / direct: {p / d:.2f}")
            print(f"proxy CPU per 1000 requests: {statistics.median(cpu_per_k):.3f} s")
            await asyncio.sleep(1)  # the last round's invocations finish
            print(f"proxy after the rounds: {await link.stats()}")
            sql = "SELECT count(*) AS n FROM sys_invocation WHERE status != 'completed'"
            print(f"invocations Restate has not completed: {await server.admin.query(sql)}")
        finally:
            await proxy.close()
            await server.close()
            reg.kill_all()
            alloc.release_all()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    asyncio.run(main(a.rounds, a.seconds, a.connections))
