"""Driving the stock worker straight through Kafka: commands in, outcome events out.

Commands are the JSON of streams.records, keyed by product, as the API sends
them; ``produce_commands`` returns where each one landed (its arrival order).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from ops.audit_kafka import GroupLag
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS, product_message_key, reader_groups

Json = dict[str, Any]


def listing(product_id: int, stock: int, limit: int, at: float) -> Json:
    return {
        "kind": "ListProduct",
        "product_id": product_id,
        "stock": stock,
        "per_user_limit": limit,
        "price": 10000,
        "sale_price": 5000,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "at": at,
    }


def reserve(product_id: int, member_id: int, at: float, order_id: str | None = None) -> Json:
    return {
        "kind": "ReserveOrder",
        "product_id": product_id,
        "order_id": order_id or str(uuid.uuid4()),
        "member_id": member_id,
        "qty": 1,
        "amount": 5000,
        "hold_seconds": 300,
        "at": at,
    }


def sale_orders(product_id: int, count: int, members: int, retries: int, seed: int) -> list[Json]:
    """``count`` orders of one unit from ``members`` members (many order more than once),
    ``retries`` of them sent a second time with the same order id (an API retry)."""
    rng = random.Random(seed)
    now = time.time()
    orders = [reserve(product_id, 1 + rng.randrange(members), now) for _ in range(count - retries)]
    for original in rng.sample(orders, retries):
        orders.insert(rng.randrange(len(orders) + 1), dict(original))
    return orders


@dataclass(frozen=True)
class Sent:
    """A command and where it landed: its record's offset, and its index in the record
    (a CommandBatch; 0 for a bare command)."""

    command: Json
    partition: int
    offset: int
    index: int = 0


async def produce_commands(settings: Settings, commands: list[Json]) -> list[Sent]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        topic = STOCK_COMMANDS.name(settings)
        futures = [
            await producer.send(
                topic, key=product_message_key(c["product_id"]), value=json.dumps(c).encode()
            )
            for c in commands
        ]
        metas = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [Sent(c, m.partition, m.offset) for c, m in zip(commands, metas, strict=True)]


async def produce_batched(settings: Settings, commands: list[Json], seed: int) -> list[Sent]:
    """``commands`` (one product's) packed in CommandBatch records of 1 to 40, as the API
    packs orders that arrive together; where each command landed."""
    rng = random.Random(seed)
    records: list[list[Json]] = []
    while len(commands) > sum(map(len, records)):
        start = sum(map(len, records))
        records.append(commands[start : start + rng.randint(1, 40)])
    values = [
        r[0]
        if len(r) == 1
        else {"kind": "CommandBatch", "product_id": r[0]["product_id"], "commands": r}
        for r in records
    ]
    landed = await produce_commands(settings, values)
    return [
        Sent(command, where.partition, where.offset, index if len(record) > 1 else 0)
        for record, where in zip(records, landed, strict=True)
        for index, command in enumerate(record)
    ]


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


def expected_outcomes(sent: list[Sent]) -> dict[str, tuple[str, str | None]]:
    """An independent model of the sale: one unit per order, limit 1, in offset order."""
    remaining = 0
    holders: set[int] = set()
    outcomes: dict[str, tuple[str, str | None]] = {}
    for s in sorted(sent, key=lambda s: (s.offset, s.index)):
        c = s.command
        if c["kind"] == "ListProduct":
            remaining = c["stock"]
        elif c["order_id"] in outcomes:
            continue
        elif c["member_id"] in holders:
            outcomes[c["order_id"]] = ("REJECTED", "LIMIT_EXCEEDED")
        elif remaining == 0:
            outcomes[c["order_id"]] = ("REJECTED", "SOLD_OUT")
        else:
            remaining -= 1
            holders.add(c["member_id"])
            outcomes[c["order_id"]] = ("RESERVED", None)
    return outcomes


def worker_stock(port: int) -> list[Json]:
    """The product records a worker serves at ``GET /stock/``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stock/", timeout=5) as resp:
        return list(json.loads(resp.read())["products"])


async def wait_quiet(settings: Settings, within: float = 30.0) -> None:
    """Until the workers' consumer groups have committed every message of the pipeline's
    topics (a clean stop is then quick: no agent holds a message)."""
    lag = GroupLag(
        settings.kafka_bootstrap, reader_groups(settings, (STOCK_COMMANDS, ORDER_EVENTS))
    )
    await lag.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            behind = await lag.measure()
            if not any(behind.values()):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the workers did not commit everything: {behind}")
    finally:
        await lag.stop()
