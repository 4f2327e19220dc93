"""Orders through the real API, Kafka and a real worker (issue: durable intake, FCFS).

2,000 concurrent orders from 500 members for 100 units with a limit of one each:
exactly 100 reserved, every other order refused for the right reason, no 5xx,
each acknowledged order exactly one outcome, and first come first served by
Kafka offset. Then: a worker killed with -9 mid-sale, two API instances waiting
for their own decisions, and the sold-out fast path that never touches Kafka.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from kit.kafka import end_offsets_total
from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS
from tests.support.sale import Answer, covers, decoded, open_sale, post_orders, read_topic

pytestmark = pytest.mark.integration


async def place_orders(
    base: str, orders: list[tuple[Member, int]], wait: float | None
) -> list[Answer]:
    """The orders, 200 at a time; ``wait``: each asks for its decision (``Prefer: wait``)."""
    return await post_orders(base, orders, 200, {"Prefer": f"wait={wait:g}"} if wait else {})


def first_outcomes(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first decision event of each order; fails if an order got two different ones."""
    outcomes: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["event"] not in ("OrderReserved", "OrderRejected"):
            continue
        seen = outcomes.setdefault(event["order_id"], event)
        assert (seen["status"], seen["reason"]) == (event["status"], event["reason"]), event
    return outcomes


def _place(event: dict[str, Any]) -> tuple[int, int]:
    """An order's place in its partition: offset, then index in a CommandBatch."""
    return event["command_offset"], event.get("command_index", 0)


def assert_first_come_first_served(outcomes: dict[str, dict[str, Any]]) -> None:
    reserved = [_place(e) for e in outcomes.values() if e["status"] == "RESERVED"]
    sold_out = [_place(e) for e in outcomes.values() if e["reason"] == "SOLD_OUT"]
    if reserved and sold_out:
        assert max(reserved) < min(sold_out), (
            "an earlier order was refused SOLD_OUT before a later one was reserved"
        )


def sale_orders(
    members: list[Member], product_id: int, per_member: int
) -> list[tuple[Member, int]]:
    orders = [(m, product_id) for m in members for _ in range(per_member)]
    random.Random(7).shuffle(orders)
    return orders


async def check_sale(
    settings: Settings, answers: list[Answer], units: int
) -> dict[str, dict[str, Any]]:
    assert not [a for a in answers if a[0] >= 500], [a for a in answers if a[0] >= 500][:5]
    acknowledged = {body["order_id"] for status, body in answers if body.get("order_id")}
    events = decoded(
        await read_topic(settings, ORDER_EVENTS.name(settings), until=covers(acknowledged))
    )
    outcomes = first_outcomes(events)
    assert acknowledged <= set(outcomes), (
        f"{len(acknowledged - set(outcomes))} acknowledged orders never decided"
    )
    statuses = Counter(e["status"] for e in outcomes.values())
    assert statuses["RESERVED"] == units
    reasons = Counter(e["reason"] for e in outcomes.values() if e["status"] == "REJECTED")
    assert set(reasons) <= {"SOLD_OUT", "LIMIT_EXCEEDED"}
    per_member: dict[int, int] = defaultdict(int)
    for event in outcomes.values():
        if event["status"] == "RESERVED":
            per_member[event["member_id"]] += 1
    assert max(per_member.values()) == 1
    assert_first_come_first_served(outcomes)
    return outcomes


async def test_flash_sale_reserves_exactly_the_stock_first_come_first_served(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    sale = await open_sale(fresh_settings, worker_factory, api_factory, members=500, stock=100)

    answers = await place_orders(sale.base, sale_orders(sale.members, sale.product_id, 4), wait=5)

    outcomes = await check_sale(fresh_settings, answers, units=100)
    codes = Counter(status for status, _ in answers)
    assert codes[201] == 100
    assert set(codes) <= {201, 409, 202}
    for status, body in answers:
        if status == 409:
            assert body["status"] == "REJECTED" and body["reason"] in ("SOLD_OUT", "LIMIT_EXCEEDED")
        if status == 201:
            assert outcomes[body["order_id"]]["status"] == "RESERVED" and body["expires_at"]


async def test_worker_killed_mid_sale_decides_every_order_once(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    sale = await open_sale(fresh_settings, worker_factory, api_factory, members=500, stock=100)
    orders = sale_orders(sale.members, sale.product_id, 4)

    first = await place_orders(sale.base, orders[:800], wait=None)
    sale.worker.kill()
    second = await place_orders(sale.base, orders[800:], wait=None)  # accepted with no worker
    worker_factory(fresh_settings)  # the same name: it takes its partitions back at once

    assert {status for status, _ in first + second} <= {202, 409}
    await check_sale(fresh_settings, first + second, units=100)


async def test_two_api_instances_each_get_their_own_decisions(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    worker_factory(fresh_settings)
    _, base_a = api_factory(fresh_settings, name="api-a")
    _, base_b = api_factory(fresh_settings, name="api-b")
    admin, *_ = seed_members(fresh_settings, 1, role="admin")
    members = seed_members(fresh_settings, 40)
    product = await list_product(base_a, admin, stock=1000)
    await asyncio.sleep(1.0)  # both instances' listeners are positioned at the end of the topic

    answers_a, answers_b = await asyncio.gather(
        place_orders(base_a, [(m, product["product_id"]) for m in members[:20]], wait=5),
        place_orders(base_b, [(m, product["product_id"]) for m in members[20:]], wait=5),
    )
    assert [status for status, _ in answers_a + answers_b] == [201] * 40


async def test_sold_out_fast_path_refuses_without_producing(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    sale = await open_sale(fresh_settings, worker_factory, api_factory, members=5, stock=2)
    base, members, pid = sale.base, sale.members, sale.product_id
    assert [s for s, _ in await place_orders(base, [(m, pid) for m in members[:2]], wait=5)] == [
        201,
        201,
    ]
    await _wait_remaining(base, pid, 0)

    topic = STOCK_COMMANDS.name(fresh_settings)
    before = await end_offsets_total(fresh_settings, topic)
    answers = await place_orders(base, [(m, pid) for m in members[2:]], wait=5)
    after = await end_offsets_total(fresh_settings, topic)

    assert answers == [(409, {"order_id": None, "status": "REJECTED", "reason": "SOLD_OUT"})] * 3
    assert after == before


async def _wait_remaining(
    base: str, product_id: int, remaining: int, timeout: float = 10.0
) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(int(timeout / 0.1)):
            async with http.get(f"{base}/products/{product_id}") as resp:
                if (await resp.json())["remaining"] == remaining:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"product {product_id} never showed remaining={remaining}")
