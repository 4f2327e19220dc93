"""Setting up a sale for integration tests: members with tokens, an admin, a product.

Members are inserted straight into MySQL with a placeholder hash (no one logs in
as them) and get access tokens signed with the test settings' secret, as
``flashsale-admin seed-members`` does; the product is listed through the real API.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from api import tokens
from ops.children import ManagedProcess
from storage.mysql import MySQLConfig, connect
from streams.settings import Settings

PLACEHOLDER_HASH = "seeded$not-a-login"


@dataclass(frozen=True)
class Member:
    member_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed_members(settings: Settings, count: int, role: str = "member") -> list[Member]:
    tag = uuid.uuid4().hex[:8]
    rows = [
        (f"{role}-{tag}-{i}@example.com", f"{role} {i}", role, PLACEHOLDER_HASH)
        for i in range(count)
    ]
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO members (email, name, role, password_hash) VALUES (%s, %s, %s, %s)",
                rows,
            )
            cur.execute(
                "SELECT member_id FROM members WHERE email LIKE %s ORDER BY member_id",
                (f"{role}-{tag}-%",),
            )
            ids = [row["member_id"] for row in cur.fetchall()]
        conn.commit()
    finally:
        conn.close()
    secret = settings.signing_secret()
    return [Member(mid, tokens.issue(secret, mid, role, 0, ttl_seconds=3600)) for mid in ids]


@dataclass(frozen=True)
class Sale:
    """A product on sale through a real worker and API, and members to buy it."""

    worker: ManagedProcess
    base: str
    members: list[Member]
    product_id: int


async def open_sale(
    settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
    members: int,
    stock: int,
) -> Sale:
    """Start a worker and an API, seed an admin and ``members`` buyers, list a product."""
    worker = worker_factory(settings)
    _, base = api_factory(settings)
    admin, *_ = seed_members(settings, 1, role="admin")
    buyers = seed_members(settings, members)
    product = await list_product(base, admin, stock=stock)
    return Sale(worker, base, buyers, product["product_id"])


async def list_product(
    base: str, admin: Member, stock: int, per_user_limit: int = 1, **extra: Any
) -> dict[str, Any]:
    body = {
        "name": "Flash item",
        "price": 10000,
        "sale_price": 5000,
        "stock": stock,
        "per_user_limit": per_user_limit,
        **extra,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/admin/products", json=body, headers=admin.headers) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())


async def read_topic(
    settings: Settings,
    topic: str,
    until: int | Callable[[list[Any]], bool],
    timeout: float = 60.0,
) -> list[Any]:
    """Every record of ``topic`` from the start, read until ``until`` (a count, or a
    predicate on the records so far) is met or ``timeout`` passes."""
    done = until if callable(until) else (lambda records: len(records) >= until)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not done(records) and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


class covers:
    """A ``read_topic`` predicate: an event has been read for each of ``order_ids``."""

    def __init__(self, order_ids: set[str]) -> None:
        self.missing = set(order_ids)
        self.read = 0

    def __call__(self, records: list[Any]) -> bool:
        for record in records[self.read :]:
            self.missing.discard(json.loads(record.value)["order_id"])
        self.read = len(records)
        return not self.missing


def decoded(records: Iterable[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


async def end_offsets_total(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds in all (the sum of its partitions' end offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()
        await admin.close()
