"""Setting up a sale for integration tests: members with tokens, an admin, a product.

Members are inserted straight into MySQL with a placeholder hash (no one logs in
as them) and get access tokens signed with the test settings' secret, as
``flashsale-admin seed-members`` does; the product is listed through the real API.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer, TopicPartition

from api import tokens
from storage.mysql import connect, MySQLConfig
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
    settings: Settings, topic: str, until: int, timeout: float = 60.0
) -> list[Any]:
    """Every record of ``topic`` from the start, once at least ``until`` were read (or timeout)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    records: list[Any] = []
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < until and asyncio.get_running_loop().time() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


def decoded(records: Iterable[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


async def end_offsets_total(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()
