"""The shared servers stopped mid-sale: Kafka for 10 s, MariaDB for 20 s, Redis for 10 s.

Each is really stopped (its process ends, its port refuses connections) and
restarted on the same data (tests/faults/servers.py); nothing in the pipeline is
restarted by hand. Kafka down: orders get 503, never a 202 that was not stored,
readiness goes red, and the sale resumes by itself. MariaDB down: orders are
still taken and decided (Kafka holds them; the rows follow). Redis down: orders
are still taken and decided, tokens still checked (MySQL), and the sold-out fast
path steps aside: the stock agent refuses instead. Afterwards the audit is clean.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from streams.settings import Settings
from tests.faults.load import Answer, Buyers
from tests.faults.rig import Apis, Rig, Workers, audit_clean, open_sale
from tests.faults.servers import server_stopped

pytestmark = [pytest.mark.integration, pytest.mark.faults]


async def readiness(rig: Rig) -> tuple[int, dict[str, Any]]:
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(f"{rig.base}/readyz") as resp,
    ):
        return resp.status, dict(await resp.json())


async def until_ready(rig: Rig, ready: bool, within: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        status, body = await readiness(rig)
        if (status == 200) == ready:
            return body
        assert loop.time() < deadline, body
        await asyncio.sleep(0.2)


def orders_between(buyers: Buyers, start: float, end: float) -> list[Answer]:
    return [a for a in buyers.answers if a.kind == "order" and start <= a.at <= end]


def timeline(buyers: Buyers, start: float) -> list[tuple[int, dict[int | None, int]]]:
    """Order answers per second from ``start``: what a client saw through the fault."""
    seconds: dict[int, Counter[int | None]] = {}
    for answer in buyers.answers:
        if answer.kind == "order" and answer.at >= start - 2:
            seconds.setdefault(int(answer.at - start), Counter())[answer.status] += 1
    return [(second, dict(counts)) for second, counts in sorted(seconds.items())]


async def _sale(
    settings: Settings, worker_factory: Workers, api_factory: Apis
) -> tuple[Rig, Buyers]:
    rig = await open_sale(settings, worker_factory, api_factory)
    buyers = rig.buyers()
    await buyers.until(acknowledged=200)
    return rig, buyers


async def test_kafka_stopped_for_10_seconds(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig, buyers = await _sale(settings_factory(), worker_factory, api_factory)
    loop = asyncio.get_running_loop()
    in_flight = sum(buyers.in_flight.values())
    async with server_stopped("kafka", rig.settings, seconds=10):
        began = loop.time()
        checks = (await until_ready(rig, ready=False, within=10))["checks"]
        assert checks == {"kafka": False, "redis": True, "mysql": True}
        await asyncio.sleep(8)
        during = orders_between(buyers, began + 6, loop.time())
    assert {a.status for a in during} <= {503, 409}, timeline(buyers, began)
    assert any(a.status == 503 for a in during), timeline(buyers, began)
    await until_ready(rig, ready=True, within=120)
    await buyers.until_decided(100, within=180)  # it resumes by itself
    await buyers.stop()
    await audit_clean(rig, buyers, "Kafka stopped 10 s", in_flight, allowed={503})


async def test_mariadb_stopped_for_20_seconds(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig, buyers = await _sale(settings_factory(), worker_factory, api_factory)
    loop = asyncio.get_running_loop()
    in_flight = sum(buyers.in_flight.values())
    async with server_stopped("mariadb", rig.settings, seconds=20):
        began = loop.time()
        checks = (await until_ready(rig, ready=False, within=10))["checks"]
        assert checks == {"kafka": True, "redis": True, "mysql": False}
        await asyncio.sleep(15)
        during = orders_between(buyers, began, loop.time())
    decided = [a for a in during if a.status in (201, 409) and a.order_id]
    assert len(decided) >= 50, Counter(a.status for a in during)
    await until_ready(rig, ready=True, within=60)
    await buyers.until_decided(100)
    await buyers.stop()
    await audit_clean(rig, buyers, "MariaDB stopped 20 s", in_flight, allowed={503})


async def test_redis_stopped_for_10_seconds(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig, buyers = await _sale(settings_factory(), worker_factory, api_factory)
    loop = asyncio.get_running_loop()
    in_flight = sum(buyers.in_flight.values())
    async with server_stopped("redis", rig.settings, seconds=10):
        began = loop.time()
        checks = (await until_ready(rig, ready=False, within=10))["checks"]
        assert checks == {"kafka": True, "redis": False, "mysql": True}
        await asyncio.sleep(8)
        during = orders_between(buyers, began, loop.time())
    statuses = Counter(a.status for a in during)
    # Tokens are still checked (no 401, no 503) and orders still decided; the scarce
    # product is refused by the stock agent itself (an order id) instead of the fast path.
    assert set(statuses) <= {201, 202, 409}, statuses
    assert sum(1 for a in during if a.status in (201, 409) and a.order_id) >= 50, statuses
    await until_ready(rig, ready=True, within=60)
    await buyers.until_decided(100)
    await buyers.stop()
    await audit_clean(rig, buyers, "Redis stopped 10 s", in_flight)
