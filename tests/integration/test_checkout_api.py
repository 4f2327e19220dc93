"""The checkout saga through the real API, Kafka, worker, MariaDB and Redis.

Scaled-down versions of the seed's scenarios, the races between pay, cancel and
expiry, and a worker killed with -9 mid-saga; after each, once quiet, every
invariant of the contract holds (tests/support/checkout.py ``audit``).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from kit.processes import ManagedProcess
from kit.sale import Member
from storage.mysql import Database
from streams.settings import Settings
from tests.support.checkout import audit, cancel, order, pay, statuses, wait_until_quiet
from tests.support.sale import open_sale

pytestmark = pytest.mark.integration

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]


def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))


async def test_checkout_scenario_every_unit_ends_paid_or_back_on_sale(
    settings_factory: Callable[..., Settings],
    worker_factory: Workers,
    api_factory: Apis,
    redis_client: Any,
) -> None:
    settings = settings_factory(hold_seconds=6, payment_failure_rate=0.2)
    sale = await open_sale(settings, worker_factory, api_factory, members=1000, stock=1000)
    base, members, product = sale.base, sale.members, sale.product_id
    payers = set(random.Random(5).sample(range(1000), 800))

    async def buyer(http: aiohttp.ClientSession, i: int, member: Member) -> tuple[str, int | None]:
        status, body = await order(http, base, member, product)
        assert status == 201, body
        if i not in payers:
            return body["order_id"], None
        paid_status, paid = await pay(http, base, member, body["order_id"], wait=10)
        # On a loaded machine a payer may come after the hold: that order expires.
        outcomes = ((200, "PAID"), (402, "PAYMENT_FAILED"), (409, "INVALID_STATE"))
        assert (paid_status, paid.get("status") or paid["error"]["code"]) in outcomes, paid
        return body["order_id"], paid_status

    async with _session() as http:
        results = await asyncio.gather(*(buyer(http, i, m) for i, m in enumerate(members)))
    acknowledged = {order_id for order_id, _ in results}
    db = Database(settings.mysql_url)
    try:
        await wait_until_quiet(db, acknowledged)
        final = await statuses(db)
    finally:
        db.close()
    answers = Counter(code for _, code in results)
    assert final["PAID"] == answers[200] and final["PAYMENT_FAILED"] == answers[402]
    assert final["EXPIRED"] == 200 + answers[409]
    assert 0.1 < answers[402] / (800 - answers[409]) < 0.3
    await audit(settings, redis_client, acknowledged, [product])


async def test_flash_units_freed_by_failed_payments_go_to_later_buyers(
    settings_factory: Callable[..., Settings],
    worker_factory: Workers,
    api_factory: Apis,
    redis_client: Any,
) -> None:
    settings = settings_factory(payment_failure_rate=0.2)
    sale = await open_sale(settings, worker_factory, api_factory, members=3000, stock=50)
    base, members, product = sale.base, sale.members, sale.product_id
    acknowledged: set[str] = set()

    async def buyer(http: aiohttp.ClientSession, member: Member) -> str | None:
        status, body = await order(http, base, member, product)
        if body.get("order_id"):
            acknowledged.add(body["order_id"])
        if status != 201:
            return None
        code, paid = await pay(http, base, member, body["order_id"], wait=10)
        return str(paid.get("status") or (code, paid))

    async with _session() as http:
        storm = [buyer(http, m) for m in members[:2500] for _ in range(2)]
        outcomes = Counter(await asyncio.gather(*storm))
        late = iter(members[2500:])
        while outcomes["PAID"] < 50:  # a late wave takes what failed payments returned
            outcomes.update([await buyer(http, next(late))])
    assert set(outcomes) <= {None, "PAID", "PAYMENT_FAILED"}, outcomes
    assert outcomes["PAID"] == 50 and outcomes["PAYMENT_FAILED"] > 0
    db = Database(settings.mysql_url)
    try:
        await wait_until_quiet(db, acknowledged)
        assert (await statuses(db))["PAID"] == 50
    finally:
        db.close()
    await audit(settings, redis_client, acknowledged, [product])


async def test_races_between_pay_cancel_and_expiry_resolve_one_way(
    settings_factory: Callable[..., Settings],
    worker_factory: Workers,
    api_factory: Apis,
    redis_client: Any,
) -> None:
    settings = settings_factory(hold_seconds=1, payment_latency_ms=300)
    sale = await open_sale(settings, worker_factory, api_factory, members=80, stock=80)
    base, members, product = sale.base, sale.members, sale.product_id

    async with _session() as http:
        orders = [(m, (await order(http, base, m, product))[1]["order_id"]) for m in members]
        pay_vs_expiry, cancel_vs_pay, double_pay, double_cancel = (orders[i::4] for i in range(4))
        await asyncio.sleep(0.8)  # pay just before the hold runs out: the charge takes 300 ms
        raced = await asyncio.gather(*(pay(http, base, m, oid) for m, oid in pay_vs_expiry))
        both = await asyncio.gather(
            *(call(http, base, m, oid) for m, oid in cancel_vs_pay for call in (pay, cancel))
        )
        twice_paid = await asyncio.gather(
            *(pay(http, base, m, oid) for m, oid in double_pay for _ in range(2))
        )
        twice_cancelled = await asyncio.gather(
            *(cancel(http, base, m, oid) for m, oid in double_cancel for _ in range(2))
        )
    assert all(status in (200, 409, 202) for status, _ in raced + both), raced + both
    assert {body.get("status") for status, body in twice_paid if status == 200} <= {"PAID"}
    assert {body.get("status") for status, body in twice_cancelled if status == 200} <= {
        "CANCELLED"
    }
    db = Database(settings.mysql_url)
    try:
        await wait_until_quiet(db, {oid for _, oid in orders})
        final = await statuses(db)
    finally:
        db.close()
    assert final.get("RESERVED", 0) == 0
    await audit(settings, redis_client, {oid for _, oid in orders}, [product])


async def test_worker_killed_during_the_saga_charges_nobody_twice(
    settings_factory: Callable[..., Settings],
    worker_factory: Workers,
    api_factory: Apis,
    redis_client: Any,
) -> None:
    settings = settings_factory(hold_seconds=20, payment_failure_rate=0.2, payment_latency_ms=20)
    sale = await open_sale(settings, worker_factory, api_factory, members=300, stock=300)
    base, members, product = sale.base, sale.members, sale.product_id
    worker = sale.worker

    async with _session() as http:
        placed = await asyncio.gather(*(order(http, base, m, product) for m in members))
        ids = [body["order_id"] for _, body in placed]
        paying = asyncio.gather(
            *(pay(http, base, m, oid, wait=0) for m, oid in zip(members, ids, strict=True))
        )
        await asyncio.sleep(0.3)
        worker.kill()
        await paying
    worker_factory(settings)  # the same name: it takes its partitions back at once
    db = Database(settings.mysql_url)
    try:
        await wait_until_quiet(db, set(ids), timeout=90)
    finally:
        db.close()
    await audit(settings, redis_client, set(ids), [product])
