"""restate-server configuration for chaos runs: loopback only, own ports, fast retries.

The config is a TOML file written into the node's folder and recorded in the run; the
retry policy is what decides how quickly an invocation recovers after a kill, so it is part
of what a run is and appears in run.json.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.runtime.ports import HOST, PortAllocator


@dataclass(frozen=True)
class RetryPolicy:
    initial_interval: str = "50ms"
    factor: float = 2.0
    max_interval: str = "250ms"  # after a restart, a retry comes within 0.25 s
    max_attempts: int | None = None  # None = unlimited: a chaos run must not pause invocations
    on_max_attempts: str = "pause"

    def to_toml(self) -> str:
        attempts = '"unlimited"' if self.max_attempts is None else str(self.max_attempts)
        return (
            "[default-retry-policy]\n"
            f'initial-interval = "{self.initial_interval}"\n'
            f"exponentiation-factor = {self.factor}\n"
            f'max-interval = "{self.max_interval}"\n'
            f"max-attempts = {attempts}\n"
            f'on-max-attempts = "{self.on_max_attempts}"\n'
        )


@dataclass(frozen=True)
class ServerConfig:
    base_dir: Path
    ingress_port: int
    admin_port: int
    fabric_port: int
    node_name: str = "n1"
    cluster_name: str = "chaos"
    partitions: int = 4  # the default 24 is more partition processors than 2 cores want
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    log_filter: str = "warn,restate=info"
    # a cluster: every node's fabric port (this one's included); only one node provisions
    # the cluster, and logs and partitions are replicated `replication` times
    peers: tuple[int, ...] = ()
    auto_provision: bool = True
    replication: int = 1
    roles: tuple[str, ...] = ()  # the node's roles; none given: Restate's default (all)

    @classmethod
    def on_ports(cls, base_dir: Path, ports: PortAllocator, **kw: Any) -> ServerConfig:
        """A config whose ingress, admin and fabric ports come from `ports`."""
        return cls(base_dir, ports.allocate(), ports.allocate(), ports.allocate(), **kw)

    def __post_init__(self) -> None:
        ports = [self.ingress_port, self.admin_port, self.fabric_port]
        if len(set(ports)) != 3 or not all(1024 <= p <= 65535 for p in ports):
            raise ValueError(f"ports must be 3 distinct numbers in 1024-65535, got {ports}")
        if self.partitions < 1:
            raise ValueError(f"partitions must be >= 1, got {self.partitions}")

    def to_toml(self) -> str:
        peers = ", ".join(f'"http://{HOST}:{p}/"' for p in self.peers)
        return (
            f'cluster-name = "{self.cluster_name}"\n'
            f'node-name = "{self.node_name}"\n'
            f'base-dir = "{self.base_dir}"\n'
            f'bind-address = "{HOST}:{self.fabric_port}"\n'
            f'advertised-address = "http://{HOST}:{self.fabric_port}/"\n'
            'listen-mode = "tcp"\n'  # no unix sockets: run-dir paths can exceed their limit
            f"default-num-partitions = {self.partitions}\n"
            f"auto-provision = {str(self.auto_provision).lower()}\n"
            f"default-replication = {self.replication}\n"
            + (f"roles = [{', '.join(map(repr, self.roles))}]\n" if self.roles else "")
            + "disable-telemetry = true\n"
            "log-disable-ansi-codes = true\n"
            f'log-filter = "{self.log_filter}"\n'
            'rocksdb-total-memory-size = "512 MiB"\n'
            "\n"
            f"{self.retry.to_toml()}\n"
            + (f"[metadata-client]\naddresses = [{peers}]\n\n" if peers else "")
            + "[admin]\n"
            f'bind-address = "{HOST}:{self.admin_port}"\n'
            "\n"
            "[ingress]\n"
            f'bind-address = "{HOST}:{self.ingress_port}"\n'
        )

    def to_record(self) -> dict[str, object]:
        rec = asdict(self)
        rec["base_dir"] = str(self.base_dir)
        return rec
