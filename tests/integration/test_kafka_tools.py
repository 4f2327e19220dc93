"""Kafka's own command-line tools, through ops/kafka/bin, against the real broker.

A consumer group with known committed offsets on a fresh topic: the wrapped
``kafka-consumer-groups`` must show exactly its lag per partition, ``kafka-topics``
the topic, ``kafka-console-consumer`` its records. (On a fresh clone the first run
fetches the tools from Maven Central.)
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from streams.settings import Settings
from streams.topics import ORDER_EVENTS

pytestmark = pytest.mark.integration

BIN = Path(__file__).resolve().parents[2] / "ops" / "kafka" / "bin"
# Records per partition, and the offset the group has committed in each.
RECORDS = {0: 3, 1: 2}
COMMITTED = {0: 1, 1: 2}


def tool(settings: Settings, name: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLASHSALE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap}
    # The first run on a fresh clone fetches the tools from Maven Central.
    return subprocess.run(
        [str(BIN / name), *args], env=env, capture_output=True, text=True, timeout=300
    )


async def produce_and_commit(settings: Settings, topic: str, group: str) -> list[str]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    values = []
    try:
        for partition, count in RECORDS.items():
            for n in range(count):
                value = json.dumps({"partition": partition, "n": n})
                await producer.send_and_wait(topic, value.encode(), partition=partition)
                values.append(value)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group)
    await consumer.start()
    try:
        tps = {p: TopicPartition(topic, p) for p in COMMITTED}
        consumer.assign(list(tps.values()))
        await consumer.commit({tps[p]: OffsetAndMetadata(o, "") for p, o in COMMITTED.items()})
    finally:
        await consumer.stop()
    return values


async def test_the_wrapped_tools_see_the_broker_and_a_groups_lag(fresh_settings: Settings) -> None:
    topic = ORDER_EVENTS.name(fresh_settings)
    group = f"{fresh_settings.app_id}-analytics-sales"
    values = await produce_and_commit(fresh_settings, topic, group)

    described = await asyncio.to_thread(
        tool, fresh_settings, "kafka-consumer-groups", "--describe", "--group", group
    )
    assert described.returncode == 0, described.stderr
    rows = [line.split() for line in described.stdout.splitlines() if line.startswith(group)]
    lag = {int(r[2]): (int(r[3]), int(r[4]), int(r[5])) for r in rows if r[1] == topic}
    assert lag == {p: (COMMITTED[p], RECORDS[p], RECORDS[p] - COMMITTED[p]) for p in RECORDS}

    topics = await asyncio.to_thread(
        tool, fresh_settings, "kafka-topics", "--describe", "--topic", topic
    )
    assert topics.returncode == 0, topics.stderr
    assert f"PartitionCount: {fresh_settings.partitions}" in topics.stdout

    read = await asyncio.to_thread(
        tool,
        fresh_settings,
        "kafka-console-consumer",
        *("--topic", topic, "--partition", "0", "--offset", "earliest"),
        *("--max-messages", str(RECORDS[0]), "--timeout-ms", "20000"),
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines() == values[: RECORDS[0]]
