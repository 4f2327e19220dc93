"""A real consumer's fetch minimum and wait follow its records (streams/fetching.py,
``FetchSizing``, as api/outcomes.py and the workers use it): the first byte at rest,
16 KB in 20 ms through a burst, the first byte again once it is over, and no record is
missed across the changes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.fetching import BUSY, QUIET, QUIET_MAX_WAIT_MS, QUIET_MIN_BYTES, FetchSizing
from streams.settings import Settings
from streams.topics import ORDER_EVENTS

pytestmark = pytest.mark.integration


async def _read_until(
    consumer: AIOKafkaConsumer, sizing: FetchSizing, done: Callable[[int], bool]
) -> int:
    """Records read by polling until ``done(read)`` (10 s at most), each hand-out told
    to ``sizing``."""
    read = 0
    deadline = asyncio.get_running_loop().time() + 10
    while not done(read) and asyncio.get_running_loop().time() < deadline:
        batches = await consumer.getmany(timeout_ms=50)
        handed_out = sum(len(records) for records in batches.values())
        sizing.handed_out(consumer, handed_out)
        read += handed_out
    return read


async def test_a_burst_asks_for_16_kb_and_rest_for_the_first_byte(
    fresh_settings: Settings,
) -> None:
    topic = ORDER_EVENTS.name(fresh_settings)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=fresh_settings.kafka_bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        fetch_max_wait_ms=QUIET_MAX_WAIT_MS,
        fetch_min_bytes=QUIET_MIN_BYTES,
    )
    producer = AIOKafkaProducer(bootstrap_servers=fresh_settings.kafka_bootstrap)
    await consumer.start()
    await producer.start()
    try:
        for partition in consumer.assignment():
            await consumer.position(partition)
        sizing = FetchSizing()
        fetcher = consumer._fetcher

        await producer.send_and_wait(topic, b"one", key=b"1")
        assert await _read_until(consumer, sizing, lambda read: read == 1) == 1
        assert (fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms) == QUIET

        burst = [producer.send(topic, b"x" * 200, key=str(i).encode()) for i in range(3000)]
        await asyncio.gather(*burst)
        read = await _read_until(consumer, sizing, lambda _: sizing.busy)
        assert sizing.busy and (fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms) == BUSY, read

        read += await _read_until(consumer, sizing, lambda more: read + more == 3000)
        assert read == 3000
        await _read_until(consumer, sizing, lambda _: not sizing.busy)
        assert not sizing.busy and (fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms) == QUIET
    finally:
        await producer.stop()
        await consumer.stop()
