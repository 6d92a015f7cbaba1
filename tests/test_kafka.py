"""The Kafka path's broker: resolved with a clear reason when absent, supervised like every
other process (allocated loopback port, killed by process group)."""

import asyncio

import pytest

from harness.errors import BinaryNotFound
from harness.runtime import kafka
from harness.runtime.ports import PortAllocator
from harness.runtime.processes import ProcessRegistry


def test_a_missing_broker_gives_the_reason_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv(kafka.ENV_BIN, str(tmp_path / "no-such-broker"))
    with pytest.raises(BinaryNotFound, match=r"CHAOS_KAFKA_BROKER_BIN=.* is not an executable"):
        kafka.resolve_broker()
    reason = kafka.missing()
    assert reason is not None and reason.startswith("Kafka path skipped:")


@pytest.mark.kafka
@pytest.mark.skipif(bool(kafka.missing()), reason=kafka.missing() or "")
async def test_broker_listens_on_loopback_and_dies_with_its_group(tmp_path):
    reg, alloc = ProcessRegistry(), PortAllocator()
    broker = kafka.KafkaBroker(kafka.resolve_broker(), alloc.allocate(), tmp_path, registry=reg)
    try:
        assert await broker.start(timeout=20) < 20
        assert broker.bootstrap.startswith("127.0.0.1:")
        _, writer = await asyncio.open_connection("127.0.0.1", broker.port)
        writer.close()
        await broker.kill()  # SIGKILL to the process group, then the port is checked closed
        assert not broker.running()
    finally:
        reg.kill_all()
        alloc.release_all()
