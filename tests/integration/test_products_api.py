"""Admin listing and restocking, and catalog reads, against the real API, Kafka and Redis.

Listing a product stores it in MySQL and puts a ``ListProduct`` on the product's
partition of ``stock-commands``; restocking adds a ``RestockProduct``. The
catalog shows ``remaining`` from the stock projection once it exists.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.asyncio import Redis

from kit.processes import ManagedProcess, free_port
from streams.redis_keys import stock_key
from streams.settings import Settings
from streams.topics import STOCK_COMMANDS
from tests.support.http import call, error_code

pytestmark = pytest.mark.integration

ApiFactory = Callable[..., tuple[ManagedProcess, str]]
NEW = {
    "name": "Limited sneakers",
    "price": 129000,
    "sale_price": 99000,
    "stock": 100,
    "per_user_limit": 2,
    "sale_starts_at": "2030-01-01T09:00:00+09:00",
    "sale_ends_at": "2030-01-01T01:30:00.250Z",
}


async def stock_commands(settings: Settings, count: int) -> list[dict[str, Any]]:
    """The first ``count`` records of stock-commands, all partitions, with their keys."""
    topic = STOCK_COMMANDS.name(settings)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(settings.partitions)])
        found: list[dict[str, Any]] = []
        for _ in range(100):
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                found += [{**json.loads(r.value), "key": r.key.decode()} for r in batch]
            if len(found) >= count:
                break
        return found
    finally:
        await consumer.stop()


async def admin_token(http: aiohttp.ClientSession, base: str, settings: Settings) -> str:
    login = {"email": settings.admin_email, "password": settings.admin_password}
    status, pair = await call(http, "POST", f"{base}/auth/login", body=login)
    assert status == 200, pair
    return str(pair["access_token"])


def expected_product(product_id: int, **changes: Any) -> dict[str, Any]:
    product = {**NEW, "product_id": product_id, "remaining": NEW["stock"], "sold_out": False}
    product |= {
        "sale_starts_at": "2030-01-01T00:00:00.000Z",
        "sale_ends_at": "2030-01-01T01:30:00.250Z",
    }
    return product | changes


async def test_list_restock_and_read_the_catalog(
    fresh_settings: Settings, api_factory: ApiFactory, redis_client: Redis
) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        admin = await admin_token(http, base, fresh_settings)
        status, product = await call(http, "POST", f"{base}/admin/products", admin, NEW)
        assert status == 201, product
        pid = product["product_id"]
        assert product == expected_product(pid)

        status, listing = await call(http, "GET", f"{base}/products")
        assert (status, listing) == (200, {"products": [expected_product(pid)]})

        status, answer = await call(
            http, "POST", f"{base}/admin/products/{pid}/restock", admin, {"qty": 20}
        )
        assert (status, answer) == (202, {"product_id": pid, "added": 20})
        status, read = await call(http, "GET", f"{base}/products/{pid}")
        assert read == expected_product(pid, stock=120, remaining=120)

        # The stock agent's projection decides remaining and sold_out.
        key = stock_key(fresh_settings, pid)
        await redis_client.hset(key, mapping={"stock": 120, "remaining": 0, "held": 5, "sold": 115})
        status, read = await call(http, "GET", f"{base}/products/{pid}")
        assert read == expected_product(pid, stock=120, remaining=0, sold_out=True)
        status, listing = await call(http, "GET", f"{base}/products")
        assert listing["products"] == [read]

        minimal = {"name": "Empty", "price": 10, "sale_price": 10, "stock": 0}
        status, empty = await call(http, "POST", f"{base}/admin/products", admin, minimal)
        assert status == 201
        assert (empty["per_user_limit"], empty["sold_out"], empty["sale_starts_at"]) == (
            1,
            True,
            None,
        )

    commands = await stock_commands(fresh_settings, 3)
    keyed = [(c["kind"], c["product_id"], c["key"]) for c in commands]
    assert sorted(keyed) == sorted(
        [
            ("ListProduct", pid, str(pid)),
            ("RestockProduct", pid, str(pid)),
            ("ListProduct", empty["product_id"], str(empty["product_id"])),
        ]
    )
    listed = next(c for c in commands if c["kind"] == "ListProduct" and c["product_id"] == pid)
    assert (listed["stock"], listed["per_user_limit"], listed["sale_price"]) == (100, 2, 99000)
    assert listed["sale_starts_at"] == 1893456000.0
    restock = next(c for c in commands if c["kind"] == "RestockProduct")
    assert restock["qty"] == 20


async def test_unknown_products_are_404(fresh_settings: Settings, api_factory: ApiFactory) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        admin = await admin_token(http, base, fresh_settings)
        for path in (
            "/products/999",
            "/products/0",
            "/products/abc",
            "/products/-1",
            "/products/99999999999999999999999999",
        ):
            status, body = await call(http, "GET", f"{base}{path}")
            assert (status, error_code(body)) == (404, "NOT_FOUND"), path
        status, body = await call(
            http, "POST", f"{base}/admin/products/999/restock", admin, {"qty": 1}
        )
        assert (status, error_code(body)) == (404, "NOT_FOUND")


async def test_kafka_down_means_503_and_no_product(
    fresh_settings: Settings, api_factory: ApiFactory
) -> None:
    no_kafka = dataclasses.replace(fresh_settings, kafka_bootstrap=f"127.0.0.1:{free_port()}")
    _, base = api_factory(no_kafka)
    async with aiohttp.ClientSession() as http:
        admin = await admin_token(http, base, fresh_settings)
        status, body = await call(http, "POST", f"{base}/admin/products", admin, NEW)
        assert (status, error_code(body)) == (503, "UNAVAILABLE")
        status, listing = await call(http, "GET", f"{base}/products")
        assert listing == {"products": []}
