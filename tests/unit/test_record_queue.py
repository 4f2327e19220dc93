"""tables/record_queue.py: the first record of each partition takes ``send()``, the rest
go straight to the accumulator, and the aiokafka internals it uses are there."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.producer.message_accumulator import MessageAccumulator

from tables.record_queue import RecordQueue


class Producer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._message_accumulator = self
        self._request_timeout_ms = 40_000

    async def send(self, topic: str, value: bytes, key: bytes, partition: int) -> Any:
        self.calls.append(("send", (topic, partition, key, value)))
        return asyncio.get_running_loop().create_future()

    async def add_message(
        self, tp: TopicPartition, key: bytes, value: bytes, timeout: float
    ) -> Any:
        self.calls.append(("add_message", (tp, key, value, timeout)))
        return asyncio.get_running_loop().create_future()


async def test_the_first_record_of_a_partition_takes_send_and_the_rest_the_accumulator() -> None:
    producer = Producer()
    queue = RecordQueue(producer)
    await queue.queue("events", 3, b"k1", b"v1")
    await queue.queue("events", 3, b"k2", b"v2")
    await queue.queue("events", 4, b"k3", b"v3")
    await queue.queue("changelog", 3, b"k4", b"v4")
    await queue.queue("events", 4, b"k5", b"v5")
    assert producer.calls == [
        ("send", ("events", 3, b"k1", b"v1")),
        ("add_message", (TopicPartition("events", 3), b"k2", b"v2", 40.0)),
        ("send", ("events", 4, b"k3", b"v3")),
        ("send", ("changelog", 3, b"k4", b"v4")),
        ("add_message", (TopicPartition("events", 4), b"k5", b"v5", 40.0)),
    ]


async def test_aiokafka_has_what_the_queue_reaches_for() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1")
    try:
        assert isinstance(producer._message_accumulator, MessageAccumulator)
        assert isinstance(producer._request_timeout_ms, int)
        parameters = list(inspect.signature(MessageAccumulator.add_message).parameters)
        assert parameters[:5] == ["self", "tp", "key", "value", "timeout"]
    finally:
        await producer.stop()
