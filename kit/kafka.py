"""Records straight onto Kafka and counted or read back, as the pipeline's own
senders and readers see them.

``produce`` is the one producer of the tests and the bench tools: values as JSON,
keyed by their product as the API and the stock agent key them, idempotent and
acknowledged by every in-sync replica.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata

from streams.settings import Settings
from streams.topics import ORDER_EVENTS, product_message_key

Json = dict[str, Any]
# aiokafka's own default; a bench tool that times its produce passes a larger one.
BATCH_BYTES = 16384


async def produce(
    settings: Settings, topic: str, values: Iterable[Json], batch_bytes: int = BATCH_BYTES
) -> list[RecordMetadata]:
    """Send every value and wait for all acks; where each one landed, in order."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=batch_bytes,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                topic, key=product_message_key(v["product_id"]), value=json.dumps(v).encode()
            )
            for v in values
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def end_offsets(settings: Settings, topic: str) -> dict[TopicPartition, int]:
    """Each partition's end offset: the next offset to be written, open transactions'
    records included."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()
        await admin.close()


async def end_offsets_total(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds in all (the sum of its partitions' end offsets)."""
    return sum((await end_offsets(settings, topic)).values())


async def read_to_end(settings: Settings, topic: str, timeout: float = 60.0) -> list[Any]:
    """Every committed record of ``topic`` up to its end offsets of now, as a worker's
    restore reads it (``read_committed``). Read until each partition's position
    reaches its end: commit markers and aborted records take offsets no record is
    given at, so a count of records would fall short of the end offsets. The ends are
    the last written offsets, open transactions included (a read_committed reader's
    own ends stop before them): it waits for those to be committed or aborted."""
    ends = await end_offsets(settings, topic)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        deadline = asyncio.get_running_loop().time() + timeout
        behind = [tp for tp in ends if await consumer.position(tp) < ends[tp]]
        while behind:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{topic}: not read to its end offsets in {timeout:g}s")
            for tp, batch in (await consumer.getmany(*behind, timeout_ms=200)).items():
                records.extend(r for r in batch if r.offset < ends[tp])
            behind = [tp for tp in behind if await consumer.position(tp) < ends[tp]]
    finally:
        await consumer.stop()
    return records


class EventReader:
    """Reads ``order-events`` from the beginning; keeps every raw event."""

    def __init__(self, settings: Settings) -> None:
        self.topic = ORDER_EVENTS.name(settings)
        self.partitions = settings.partitions
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
        )
        self.raw: list[bytes] = []
        self.timestamps: list[int] = []

    async def __aenter__(self) -> EventReader:
        await self.consumer.start()
        tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning(*tps)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def poll(self) -> None:
        for batch in (await self.consumer.getmany(timeout_ms=100, max_records=5000)).values():
            self.raw.extend(record.value for record in batch)
            self.timestamps.extend(record.timestamp for record in batch)

    async def until_orders(self, order_ids: set[str], within: float) -> dict[str, list[bytes]]:
        """Events by order id, once every order has one (or the time is up)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            by_order = self.by_order()
            if order_ids <= by_order.keys():
                return by_order
            await self.poll()
        return self.by_order()

    def by_order(self) -> dict[str, list[bytes]]:
        by_order: dict[str, list[bytes]] = {}
        for raw in self.raw:
            by_order.setdefault(json.loads(raw)["order_id"], []).append(raw)
        return by_order
