"""Events produced to Kafka topics, recorded in the history like ingress requests.

An event is recorded as an operation of the subscription's sink (service, handler, key =
the record key, req = the value), so the same checkers read both paths: `ok` once the
broker acknowledged it (acks=all), `info` when the answer was lost (it may be in the topic).
"""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from harness.workload.client import Outcome, record_outcome
from harness.workload.history import History


class EventProducer:
    def __init__(self, bootstrap: str, history: History):
        self.history = history
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def __aenter__(self) -> EventProducer:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send(self, topic: str, sink: str, key: str, value: Any) -> Outcome:
        """Produce `value` (JSON) under `key` to `topic`, whose subscription invokes `sink`
        ("Service/handler")."""
        service, handler = sink.split("/")
        op = self.history.next_op()
        self.history.one_way += 1
        self.history.append(
            "invoke", op=op, service=service, handler=handler, key=key, req=value, topic=topic
        )
        try:
            md = await self._producer.send_and_wait(
                topic, key=key.encode(), value=json.dumps(value).encode()
            )
        except KafkaError as e:
            return record_outcome(self.history, op, "info", error=f"{type(e).__name__}: {e}")
        resp = {"partition": md.partition, "offset": md.offset}
        return record_outcome(self.history, op, "ok", resp)
