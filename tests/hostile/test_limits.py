"""Floods by one member: over the rate limit, and 1,000 requests with one Idempotency-Key.

Over the limit: 429 RATE_LIMITED with a Retry-After in whole seconds, and a
refused request sends nothing to Kafka. One key, 1,000 concurrent requests:
every answer names the same order, and exactly one order exists everywhere:
one order id in ``stock-commands`` (each request is produced; the stock agent
decides the first and re-emits that decision), one decision in
``order-events``, one row in MySQL, one unit taken from stock.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from kit.sale import Member
from storage.mysql import Database
from streams.records import command_entries
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS
from tests.hostile.shop import Apis, Shop, Workers, assert_contract_error, audit_clean, open_shop
from tests.support.order_events import query, read_values
from tests.support.stock_sale import worker_stock

pytestmark = [pytest.mark.integration, pytest.mark.hostile]


async def _flood(
    shop: Shop, member: Member, count: int, key: str | None = None
) -> list[tuple[int, Any, dict[str, str]]]:
    body = {"product_id": shop.plenty, "qty": 1}

    async def one(http: aiohttp.ClientSession, number: int) -> tuple[int, Any, dict[str, str]]:
        headers = {**member.headers, "Idempotency-Key": key or f"flood-{number}"}
        if key is not None:
            headers["Prefer"] = "wait=5"
        async with http.post(f"{shop.base}/orders", json=body, headers=headers) as resp:
            return resp.status, await resp.json(), dict(resp.headers)

    connector = aiohttp.TCPConnector(limit=count)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        return await asyncio.gather(*(one(http, n) for n in range(count)))


async def _commands_of(settings: Settings, member_id: int) -> list[dict[str, Any]]:
    values = await read_values(settings, STOCK_COMMANDS.name(settings))
    commands = [c for value in values for c in command_entries(value)]  # CommandBatches too
    return [c for c in commands if c.get("kind") == "ReserveOrder" and c["member_id"] == member_id]


async def test_over_the_rate_limit_is_429_with_retry_after_and_sends_nothing(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=20), worker_factory, api_factory)
    member = shop.members[0]
    answers = await _flood(shop, member, 60)
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= {202, 429} and statuses[429] >= 20, statuses
    for status, body, headers in answers:
        if status == 429:
            assert_contract_error(status, body, "RATE_LIMITED")
            assert headers["Retry-After"].isdigit() and int(headers["Retry-After"]) >= 1
    accepted = {body["order_id"] for status, body, _ in answers if status == 202}
    await audit_clean(shop, acknowledged=accepted)
    sent = {c["order_id"] for c in await _commands_of(shop.settings, member.member_id)}
    assert sent == accepted


async def test_a_thousand_concurrent_requests_with_one_key_make_one_order(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    member = shop.members[0]
    answers = await _flood(shop, member, 1000, key="one-key-for-all")
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= {201, 202}, statuses
    named = {body["order_id"] for _, body, _ in answers}
    assert len(named) == 1, named
    await audit_clean(shop, acknowledged=named)

    commands = await _commands_of(shop.settings, member.member_id)
    assert {c["order_id"] for c in commands} == named and len(commands) >= 1
    events = await read_values(shop.settings, ORDER_EVENTS.name(shop.settings))
    decisions = [
        json.dumps(e, sort_keys=True)
        for e in events
        if e["member_id"] == member.member_id and e["event"] in ("OrderReserved", "OrderRejected")
    ]
    assert len(set(decisions)) == 1, set(decisions)
    db = Database(shop.settings.mysql_url, size=1)
    try:
        rows = await query(db, "SELECT * FROM orders WHERE member_id = %s", (member.member_id,))
    finally:
        db.close()
    assert [row["order_id"] for row in rows] == list(named)
    (product,) = [p for p in worker_stock(shop.worker.web_port) if p["product_id"] == shop.plenty]
    assert (product["remaining"], product["held"]) == (10_000 - 1, 1), product


async def test_one_key_reused_for_two_products_still_makes_one_order(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    member = shop.members[0]
    headers = {**member.headers, "Idempotency-Key": "one-key-two-products", "Prefer": "wait=5"}

    async def one(http: aiohttp.ClientSession, number: int) -> tuple[int, Any]:
        body = {"product_id": (shop.plenty, shop.scarce)[number % 2], "qty": 1}
        async with http.post(f"{shop.base}/orders", json=body, headers=headers) as resp:
            return resp.status, await resp.json()

    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(one(http, n) for n in range(200)))
    assert {status for status, _ in answers} <= {201, 202, 409}, answers
    named = {body["order_id"] for _, body in answers}
    assert len(named) == 1, named
    await audit_clean(shop, acknowledged=named)
    commands = await _commands_of(shop.settings, member.member_id)
    assert {c["order_id"] for c in commands} == named
    assert len({c["product_id"] for c in commands}) == 1, commands
