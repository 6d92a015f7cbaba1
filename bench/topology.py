"""A restate-server and the bundled Counter service (or another `app`), not started: for
the benchmarks and the runtime tests (tests/test_server_and_service.py, test_network.py)."""

from __future__ import annotations

from pathlib import Path

from harness.runtime import binary
from harness.runtime.config import ServerConfig
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry
from harness.runtime.server import RestateServer
from harness.runtime.service import ServiceProcess


def counter_topology(
    node: Path,
    reg: ProcessRegistry,
    alloc: PortAllocator,
    app: str = "harness.bundled.services.counter:app",
) -> tuple[RestateServer, ServiceProcess]:
    server = RestateServer(
        binary.resolve(),
        ServerConfig.on_ports(node / "data", alloc),
        node,
        registry=reg,
    )
    service = ServiceProcess(app, alloc.allocate(), node, registry=reg)
    return server, service
