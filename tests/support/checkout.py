"""Checkout steps and the quiet-then-audit check shared by the saga integration tests."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from kit.sale import Member
from ops.audit_checks.first_come import arrivals_from_events
from ops.audit_checks.invariant_queries import check_database
from storage.mysql import Database
from streams.redis_keys import stock_key
from streams.settings import Settings
from streams.topics import ORDER_EVENTS
from tests.support.sale import decoded, read_topic

Answer = tuple[int, dict[str, Any]]


async def post(
    http: aiohttp.ClientSession, url: str, member: Member, body: Any = None, wait: float = 5
) -> Answer:
    headers = {**member.headers, "Prefer": f"wait={wait:g}"} if wait else member.headers
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, dict(await resp.json())


async def order(
    http: aiohttp.ClientSession, base: str, member: Member, product_id: int, wait: float = 5
) -> Answer:
    return await post(http, f"{base}/orders", member, {"product_id": product_id, "qty": 1}, wait)


async def pay(
    http: aiohttp.ClientSession, base: str, member: Member, order_id: str, wait: float = 5
) -> Answer:
    return await post(http, f"{base}/orders/{order_id}/pay", member, wait=wait)


async def cancel(
    http: aiohttp.ClientSession, base: str, member: Member, order_id: str, wait: float = 5
) -> Answer:
    return await post(http, f"{base}/orders/{order_id}/cancel", member, wait=wait)


async def statuses(db: Database) -> dict[str, int]:
    rows = await db.run(
        lambda cur: (
            cur.execute("SELECT status, COUNT(*) AS n FROM orders GROUP BY status"),
            cur.fetchall(),
        )[1]
    )
    return {row["status"]: int(row["n"]) for row in rows}


async def wait_until_quiet(db: Database, acknowledged: set[str], timeout: float = 60.0) -> None:
    """Until MySQL holds every acknowledged order, none PENDING or RESERVED, and its
    payments stopped changing (the last settlements' charges and refunds are in)."""

    def progress(cur: Any) -> tuple[int, int]:
        cur.execute("SELECT COUNT(*) AS n FROM orders WHERE status IN ('PENDING', 'RESERVED')")
        open_orders = int(cur.fetchone()["n"])
        cur.execute("SELECT COUNT(*) AS n FROM orders")
        missing = max(0, len(acknowledged) - int(cur.fetchone()["n"]))
        cur.execute("SELECT COUNT(*) AS n FROM payments")
        return open_orders + missing, int(cur.fetchone()["n"])

    deadline = asyncio.get_running_loop().time() + timeout
    previous = (-1, -1)
    while asyncio.get_running_loop().time() < deadline:
        now = await db.run(progress)
        if now[0] == 0 and now == previous:
            return
        previous = now
        await asyncio.sleep(1.0)
    raise AssertionError(f"not quiet after {timeout}s ({previous}): {await statuses(db)}")


async def audit(
    settings: Settings, redis: Any, acknowledged: set[str], product_ids: list[int]
) -> None:
    """Every invariant of the contract, 1 to 6, holds (MySQL, the stock projection, the events)."""
    remaining = {
        pid: int(await redis.hget(stock_key(settings, pid), "remaining")) for pid in product_ids
    }
    events = decoded(
        await read_topic(settings, ORDER_EVENTS.name(settings), until=lambda r: False, timeout=3)
    )
    arrivals, returns = arrivals_from_events(events)
    db = Database(settings.mysql_url)
    try:
        violations = await check_database(db, acknowledged, remaining, arrivals, returns)
    finally:
        db.close()
    assert violations == [], "\n".join(map(str, violations[:20]))
