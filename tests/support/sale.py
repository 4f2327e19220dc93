"""A sale for integration tests: a worker, an API, members and a product (``kit.sale``),
orders posted concurrently, and the topics read back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiokafka import AIOKafkaConsumer

from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from streams.settings import Settings

Answer = tuple[int, dict[str, Any]]


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


async def post_orders(
    base: str,
    orders: list[tuple[Member, int]],
    concurrency: int,
    headers: dict[str, str] | None = None,
    answered: list[int] | None = None,
    connection_each: bool = False,
) -> list[Answer]:
    """``POST /orders`` of one unit for each (member, product), ``concurrency`` at a time;
    each answer's status and body, in order.

    ``headers`` go with every order (``Prefer``, ``Idempotency-Key``); ``answered[0]``
    counts the answers as they come (a test can act mid-flight); ``connection_each``
    opens a connection per order, so the kernel picks an API process for each.
    """
    gate = asyncio.Semaphore(concurrency)
    counter = [0] if answered is None else answered

    async def one(http: aiohttp.ClientSession, member: Member, product_id: int) -> Answer:
        async with (
            gate,
            http.post(
                f"{base}/orders",
                json={"product_id": product_id, "qty": 1},
                headers={**member.headers, **(headers or {})},
            ) as resp,
        ):
            counter[0] += 1
            return resp.status, dict(await resp.json())

    connector = aiohttp.TCPConnector(limit=concurrency, force_close=connection_each)
    async with aiohttp.ClientSession(connector=connector) as http:
        return await asyncio.gather(*(one(http, m, pid) for m, pid in orders))


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
