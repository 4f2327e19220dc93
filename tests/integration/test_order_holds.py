"""A storm on a product with few units: orders beyond the units left wait in the API
instead of reaching Kafka to be rejected (api/units_in_flight.py).

A real stock worker, saga worker and API. 20 units (after one bought to warm the
pipeline up), 300 members each ordering one at once, without ``Prefer: wait``.
Without holds every order reaches Kafka (the sold-out flag comes only once the stock
agent has decided the first 20) and most are rejected after their 202. With them,
the orders past the units left wait for the decisions of those in flight, and are
then refused from the sold-out set (409, no order created). Exactly 20 are sold, the
audit is clean, and an order goes on when a rejection gives its unit back.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from ops.audit import run_audit
from streams.settings import Settings

pytestmark = pytest.mark.integration

STOCK = 20
BUYERS = 300


async def _order(
    http: aiohttp.ClientSession, base: str, member: Member, pid: int, **headers: str
) -> Any:
    async with http.post(
        f"{base}/orders", json={"product_id": pid, "qty": 1}, headers={**member.headers, **headers}
    ) as resp:
        return resp.status, await resp.json()


async def _until_listed(http: aiohttp.ClientSession, base: str, pid: int, left: int) -> None:
    """Until the stock agent has published ``left`` units (what holds are measured on)."""
    for _ in range(200):
        async with http.get(f"{base}/products/{pid}") as resp:
            if resp.status == 200 and (await resp.json())["remaining"] == left:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the product's {left} units were never published")


async def _held_orders(http: aiohttp.ClientSession, base: str) -> float:
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith("flashsale_order_hold_duration_seconds_count"):
            return float(line.split()[-1])
    raise AssertionError("no hold histogram in /metrics")


async def test_orders_past_the_units_left_wait_and_are_refused_without_an_order(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    settings = fresh_settings
    worker = worker_factory(settings)
    _, base = api_factory(settings)
    admin, *_ = seed_members(settings, 1, role="admin")
    warm, *buyers = seed_members(settings, BUYERS + 1)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=BUYERS)) as http:
        # One unit more, bought first and waited for: the storm meets a warm pipeline (a
        # sale's first decisions can take longer than a hold, and then holds do nothing).
        pid = (await list_product(base, admin, stock=STOCK + 1))["product_id"]
        await _until_listed(http, base, pid, STOCK + 1)
        warmed = await _order(http, base, warm, pid, Prefer="wait=10")
        assert warmed[0] == 201, warmed
        await _until_listed(http, base, pid, STOCK)
        answers = await asyncio.gather(*(_order(http, base, m, pid) for m in buyers))
        held = await _held_orders(http, base)
        async with http.get(f"{base}/products/{pid}") as resp:
            product = await resp.json()

    statuses = Counter(status for status, _ in answers)
    acknowledged = [body["order_id"] for status, body in answers if status == 202]
    refused = [body for status, body in answers if status == 409]
    assert set(statuses) <= {202, 409}, statuses
    assert all(b["order_id"] is None and b["reason"] == "SOLD_OUT" for b in refused), refused[:3]
    assert held > 0, "no order was held"
    # Held, not sent: far fewer orders reached Kafka than were asked for (without holds,
    # nearly all 300 do; the first 20 and those let go as decisions come are expected).
    assert len(acknowledged) <= BUYERS // 3, statuses
    out = io.StringIO()
    code = await run_audit(
        settings, [f"http://127.0.0.1:{worker.web_port}"], acknowledged=acknowledged, out=out
    )
    assert code == 0, out.getvalue()
    assert product["remaining"] == 0, product  # every unit sold: no order held from one
    report = out.getvalue()
    print(f"\nHOLDS {dict(statuses)}; held {held:.0f}; audit {report.strip().splitlines()[-1]}")
