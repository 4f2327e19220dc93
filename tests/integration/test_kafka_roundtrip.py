"""Records go through the real broker: produced, acknowledged, consumed back.

Each test gets a topic of its own (created here with the admin client, deleted
after), since the broker never auto-creates one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord

from api.kafka import CommandProducer, KafkaUnavailable
from kit.processes import free_port
from streams.settings import Settings
from streams.topics import product_message_key

pytestmark = pytest.mark.integration

PARTITIONS = 3


@pytest.fixture
async def topic(base_settings: Settings) -> AsyncIterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}.roundtrip"
    admin = AIOKafkaAdminClient(bootstrap_servers=base_settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def _consume(settings: Settings, topic: str, count: int) -> list[ConsumerRecord]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{topic}.reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        while len(records) < count:
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"got {len(records)} of {count} records within 10 s"
            for batch in batches.values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_a_record_goes_through_the_broker(base_settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=base_settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b'{"qty": 1}', key=product_message_key(42))
    finally:
        await producer.stop()

    [record] = await _consume(base_settings, topic, 1)
    assert (record.key, record.value) == (b"42", b'{"qty": 1}')
    assert (record.partition, record.offset) == (sent.partition, sent.offset)


async def test_one_product_keeps_one_partition_and_its_order(
    base_settings: Settings, topic: str
) -> None:
    producer = CommandProducer(base_settings.kafka_bootstrap)
    try:
        for seq in range(20):
            await producer.send(topic, product_message_key(seq % 4), str(seq).encode())
    finally:
        await producer.close()

    records = await _consume(base_settings, topic, 20)
    by_key: dict[bytes, list[tuple[int, int]]] = {}
    for record in records:
        assert record.key is not None and record.value is not None
        by_key.setdefault(record.key, []).append((record.partition, int(record.value)))
    for key, seen in by_key.items():
        assert len({partition for partition, _ in seen}) == 1, key
        values = [value for _, value in seen]
        assert values == sorted(values) == [v for v in range(20) if v % 4 == int(key)]


async def test_the_producer_reports_an_unreachable_broker() -> None:
    producer = CommandProducer(f"127.0.0.1:{free_port()}")
    try:
        assert await producer.ping() is False
        with pytest.raises(KafkaUnavailable):
            await producer.send("nowhere", b"1", b"{}")
    finally:
        await producer.close()
