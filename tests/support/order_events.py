"""Producing order events straight onto Kafka and watching MySQL, for agent tests.

Tests of the downstream agents play the stock agent's part: they write
OrderEvents (as the JSON the stock agent sends) to ``order-events`` themselves.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition

from kit.kafka import produce
from storage.mysql import Cursor, Database
from streams.settings import Settings
from streams.topics import ORDER_EVENTS

T = TypeVar("T")

EVENT_OF_STATUS = {
    "RESERVED": "OrderReserved",
    "REJECTED": "OrderRejected",
    "PAID": "OrderPaid",
    "PAYMENT_FAILED": "OrderPaymentFailed",
    "CANCELLED": "OrderCancelled",
    "EXPIRED": "OrderExpired",
    "REFUNDED": "OrderRefunded",
}


def order_event(
    order_id: str, status: str, created_at: float, step: float = 0.0, **extra: Any
) -> dict[str, Any]:
    """An OrderEvent as JSON, ``step`` seconds into the order's life (its updated_at).

    Holds end an hour after creation, so no expiry is proposed while a test runs.
    """
    base = {
        "event": EVENT_OF_STATUS[status],
        "order_id": order_id,
        "member_id": 1 + uuid.UUID(order_id).int % 1000,
        "product_id": 1 + uuid.UUID(order_id).int % 7,
        "qty": 1,
        "amount": 5000,
        "status": status,
        "reason": "SOLD_OUT" if status == "REJECTED" else None,
        "created_at": created_at,
        "updated_at": created_at + step,
        "expires_at": created_at + 3600,
        "command_partition": 0,
        "command_offset": 0,
    }
    return {**base, **extra}


async def produce_order_events(settings: Settings, events: Iterable[dict[str, Any]]) -> None:
    """OrderEvents onto ``order-events``, keyed by product as the stock agent keys them."""
    await produce(settings, ORDER_EVENTS.name(settings), events)


async def wait_until(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], within: float
) -> T:
    """Probe every 0.1 s until ``done`` holds; the last value, whether or not it did."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def query(db: Database, sql: str, args: Any = None) -> list[dict[str, Any]]:
    def run(cur: Cursor) -> list[dict[str, Any]]:
        cur.execute(sql, args)
        return list(cur.fetchall())

    return await db.run(run)


async def read_values(settings: Settings, topic: str) -> list[dict[str, Any]]:
    """Every record of ``topic`` now, decoded, from the beginning of each partition."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        values: list[dict[str, Any]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                values += [json.loads(record.value) for record in batch]
        return values
    finally:
        await consumer.stop()
