"""A large, finished sale written straight into Kafka, MySQL and Redis, for the audit.

No worker or API runs: the commands, the events the stock agent would have
emitted, the rows the persistence agents would have written, the Redis stock
projection and the consumer group's committed offsets are made here, consistent
with each other, so the audit finds the system quiet and every invariant held.
Per product: the first ``stock`` orders (in Kafka offset order) are reserved,
the rest rejected SOLD_OUT; 70% of the reserved ones are paid.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from kit.kafka import produce
from storage.mysql import Cursor, MySQLConfig, connect
from storage.order_rows import order_row, upsert_orders
from storage.redis import create_redis
from storage.utc import to_datetime
from streams.redis_keys import stock_key
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS, reader_groups

Json = dict[str, Any]
PAID_SHARE = 0.7
PRICE = 5000


@dataclass(frozen=True)
class Shape:
    products: int = 20
    stock: int = 2500
    orders: int = 100_000


def _reserve(pid: int, member: int, at: float) -> Json:
    return {
        "kind": "ReserveOrder",
        "product_id": pid,
        "order_id": str(uuid.uuid4()),
        "member_id": member,
        "qty": 1,
        "amount": PRICE,
        "hold_seconds": 3600,
        "at": at,
    }


def _event(name: str, order: Json, status: str, where: Any, reason: str | None = None) -> Json:
    fields = ("order_id", "member_id", "product_id", "qty", "amount")
    return {
        "event": name,
        **{k: order[k] for k in fields},
        "status": status,
        "reason": reason,
        "created_at": order["at"],
        "updated_at": order["at"] + (0 if status in ("RESERVED", "REJECTED") else 1),
        "expires_at": None if status == "REJECTED" else order["at"] + 3600,
        "command_partition": where.partition,
        "command_offset": where.offset,
    }


async def _produce(settings: Settings, topic: str, values: list[Json]) -> list[Any]:
    return await produce(settings, topic, values, batch_bytes=512 * 1024)


def _listing(pid: int, stock: int, at: float) -> Json:
    return {
        "kind": "ListProduct",
        "product_id": pid,
        "stock": stock,
        "per_user_limit": 1,
        "price": 2 * PRICE,
        "sale_price": PRICE,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "at": at,
    }


def _decide(orders: list[Json], metas: list[Any], shape: Shape) -> tuple[list[Json], list[Json]]:
    """Each order's decision event, in offset order per product; the orders paid."""
    taken: dict[int, int] = {}
    events, paid = [], []
    ranked = sorted(zip(orders, metas, strict=True), key=lambda pair: pair[1].offset)
    for order, meta in ranked:
        pid = order["product_id"]
        if taken.get(pid, 0) < shape.stock:
            taken[pid] = taken.get(pid, 0) + 1
            events.append(_event("OrderReserved", order, "RESERVED", meta))
            if taken[pid] <= shape.stock * PAID_SHARE:
                paid.append(order)
        else:
            events.append(_event("OrderRejected", order, "REJECTED", meta, "SOLD_OUT"))
    return events, paid


async def write_kafka(settings: Settings, shape: Shape) -> tuple[list[Json], list[Json]]:
    """Commands and events on the topics; every event and the paid orders."""
    at = time.time()
    per_product = shape.orders // shape.products
    orders = [
        _reserve(1 + i % shape.products, 1 + i // shape.products, at)
        for i in range(per_product * shape.products)
    ]
    commands = STOCK_COMMANDS.name(settings)
    await _produce(settings, commands, [_listing(p, shape.stock, at) for p in _pids(shape)])
    events, paid = _decide(orders, await _produce(settings, commands, orders), shape)
    pays = [{"kind": "PayOrder", **_ids(o), "at": at + 1} for o in paid]
    settles = [_settle(o, at + 1) for o in paid]
    pay_metas = await _produce(settings, commands, pays)
    await _produce(settings, commands, settles)
    events += [
        _event(name, o, "RESERVED" if name == "PaymentRequested" else "PAID", meta)
        for o, meta in zip(paid, pay_metas, strict=True)
        for name in ("PaymentRequested", "OrderPaid")
    ]
    await _produce(settings, ORDER_EVENTS.name(settings), events)
    return events, paid


def _pids(shape: Shape) -> range:
    return range(1, shape.products + 1)


def _ids(order: Json) -> Json:
    return {k: order[k] for k in ("product_id", "order_id", "member_id")}


def _settle(order: Json, at: float) -> Json:
    return {
        "kind": "SettlePayment",
        "product_id": order["product_id"],
        "order_id": order["order_id"],
        "operation": "CHARGE",
        "succeeded": True,
        "payment_id": str(uuid.uuid4()),
        "at": at,
    }


def write_mysql(settings: Settings, shape: Shape, events: list[Json], paid: list[Json]) -> None:
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO products (product_id, name, price, sale_price, stock, per_user_limit)"
                " VALUES (%s, 'item', %s, %s, %s, 1)",
                [(p, 2 * PRICE, PRICE, shape.stock) for p in _pids(shape)],
            )
            rows = [row for e in events if (row := order_row(e)) is not None]
            for start in range(0, len(rows), 5000):
                upsert_orders(cur, rows[start : start + 5000])
            _write_charges(cur, paid)
        conn.commit()
    finally:
        conn.close()


def _write_charges(cur: Cursor, paid: Iterable[Json]) -> None:
    charges = [(o["order_id"], to_datetime(o["at"] + 1)) for o in paid]
    cur.executemany(
        "INSERT INTO payments (payment_id, order_id, kind, status, amount, created_at)"
        f" VALUES (UUID(), %s, 'CHARGE', 'SUCCEEDED', {PRICE}, %s)",
        charges,
    )
    cur.executemany(
        "INSERT INTO gateway_ledger (order_id, operation, status, amount, decided_at)"
        f" VALUES (%s, 'CHARGE', 'SUCCEEDED', {PRICE}, %s)",
        charges,
    )


async def write_redis(settings: Settings, shape: Shape, paid: int) -> None:
    """The stock projection: nothing left; each product's units held or sold."""
    sold = paid // shape.products
    redis = create_redis(settings.redis_url)
    try:
        for pid in _pids(shape):
            counters: dict[str | bytes, int] = {"stock": shape.stock, "remaining": 0}
            counters |= {"sold": sold, "held": shape.stock - sold}
            await redis.hset(stock_key(settings, pid), mapping=counters)  # type: ignore[arg-type]
    finally:
        await redis.aclose()


async def commit_everything(settings: Settings) -> None:
    """Each topic's consumer group has committed it to its end (nothing left to do)."""
    for topic, group in reader_groups(settings).items():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in range(settings.partitions)]
            consumer.assign(tps)
            ends = await consumer.end_offsets(tps)
            await consumer.commit({tp: OffsetAndMetadata(end, "") for tp, end in ends.items()})
        finally:
            await consumer.stop()


async def write_sale(settings: Settings, shape: Shape) -> None:
    events, paid = await write_kafka(settings, shape)
    await asyncio.to_thread(write_mysql, settings, shape, events, paid)
    await write_redis(settings, shape, len(paid))
    await commit_everything(settings)
