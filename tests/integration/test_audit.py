"""``flashsale-admin audit`` on a real sale: clean when nothing is wrong, and every kind
of damage done behind the system's back reported with its ids (exit 1); not quiet
is exit 2; 100,000 orders are audited within the contract's 30 s.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from kit.processes import VENV_BIN, ManagedProcess
from kit.sale import Member, list_product, seed_members
from ops.audit import run_audit
from storage.mysql import Cursor, Database
from streams.settings import Settings
from streams.topics import ORDER_EVENTS
from tests.support.checkout import cancel, order, pay
from tests.support.order_events import produce_order_events, query, read_values
from tests.support.synthetic_sale import Shape, write_sale

pytestmark = pytest.mark.integration

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]


async def audited(settings: Settings, urls: list[str], **options: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_audit(settings, urls, out=out, **{"timeout": 30.0, **options})
    return code, out.getvalue()


async def small_sale(base: str, members: list[Member], product: int) -> dict[str | None, str]:
    """The first member orders twice (the second order is rejected over the limit, so a
    REJECTED order exists whatever the storm does: holds may refuse every order past the
    sell-out without an order); then everyone else orders one of the 20 units at once;
    ten pay, three cancel. Final status by order id."""
    async with aiohttp.ClientSession() as http:
        first = [await order(http, base, members[0], product) for _ in range(2)]
        assert [status for status, _ in first] == [201, 409], first
        placed = first + await asyncio.gather(*(order(http, base, m, product) for m in members[1:]))
        members = [members[0], *members]
        answers = zip(members, placed, strict=True)
        held = [(m, body["order_id"]) for m, (status, body) in answers if status == 201]
        await asyncio.gather(*(pay(http, base, m, oid) for m, oid in held[:10]))
        await asyncio.gather(*(cancel(http, base, m, oid) for m, oid in held[10:13]))
    return {body["order_id"]: body["status"] for _, body in placed}


async def one_of(db: Database, status: str) -> dict[str, Any]:
    rows = await query(db, "SELECT * FROM orders WHERE status = %s LIMIT 1", (status,))
    return rows[0]


def _insert_order(cur: Cursor, order_id: str, row: dict[str, Any], qty: int) -> None:
    cur.execute(
        "INSERT INTO orders (order_id, member_id, product_id, qty, amount, status, status_rank,"
        " created_at, updated_at) VALUES (%s, 999999, %s, %s, 1, 'PAID', 2, %s, %s)",
        (order_id, row["product_id"], qty, row["created_at"], row["updated_at"]),
    )
    _insert_charge(cur, order_id)


def _insert_charge(cur: Cursor, order_id: str) -> None:
    cur.execute(
        "INSERT INTO payments (payment_id, order_id, kind, status, amount, created_at)"
        " VALUES (UUID(), %s, 'CHARGE', 'SUCCEEDED', 1, UTC_TIMESTAMP(6))",
        (order_id,),
    )


async def test_a_clean_sale_audits_clean_and_each_damage_is_reported(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    settings = settings_factory(payment_failure_rate=0.3)
    worker = worker_factory(settings)
    _, base = api_factory(settings)
    admin, members = seed_members(settings, 1, role="admin")[0], seed_members(settings, 40)
    product = (await list_product(base, admin, stock=20))["product_id"]
    placed = await small_sale(base, members, product)
    live = [f"http://127.0.0.1:{worker.web_port}"]

    code, report = await audited(settings, live)
    assert code == 0, report
    # A request after the sell-out may be refused by the fast path, without an order.
    orders = len([order_id for order_id in placed if order_id is not None])
    assert orders >= 20, placed
    assert (
        f"0 violation(s); 1 products, {orders} orders ({orders} acknowledged), 20 units" in report
    )
    assert "remaining from workers: 1 product(s), Redis: 0" in report
    code, report = await audited(settings, ["http://127.0.0.1:9"])
    assert code == 0 and "Redis: 1 (no answer from http://127.0.0.1:9)" in report, report

    db = Database(settings.mysql_url)
    try:
        await _each_damage_is_reported(settings, db, live, product)
    finally:
        db.close()
    worker.stop()
    async with aiohttp.ClientSession() as http:
        status, _ = await order(http, base, members[-1], product, wait=0)
    assert status == 202  # decided by nobody: the stock agent is down
    code, report = await audited(settings, live, timeout=3.0)
    assert code == 2 and "not quiet after 3s: consumer lag: " in report, report


async def _each_damage_is_reported(
    settings: Settings, db: Database, live: list[str], product: int
) -> None:
    paid, rejected = await one_of(db, "PAID"), await one_of(db, "REJECTED")
    cancelled = await one_of(db, "CANCELLED")

    await db.run(lambda cur: _insert_order(cur, "extra-paid", paid, qty=21))
    code, report = await audited(settings, live)
    assert code == 1 and f"invariant 1 OVERSOLD product={product}:" in report, report
    assert f"invariant 2 UNITS_CREATED product={product}:" in report
    assert "invariant 5 OVER_LIMIT product" in report and "member=999999" in report
    await db.run(lambda cur: cur.execute("DELETE FROM orders WHERE order_id = 'extra-paid'"))
    await db.run(lambda cur: cur.execute("DELETE FROM payments WHERE order_id = 'extra-paid'"))

    oid = rejected["order_id"]
    await db.run(lambda cur: cur.execute("DELETE FROM orders WHERE order_id = %s", (oid,)))
    code, report = await audited(settings, live)
    assert code == 1 and f"invariant 3 ORDER_MISSING order={oid}:" in report, report
    await db.run(lambda cur: _restore(cur, rejected))

    oid = cancelled["order_id"]
    await db.run(lambda cur: _insert_charge(cur, oid))
    code, report = await audited(settings, live)
    assert code == 1 and f"invariant 4 CHARGE_KEPT order={oid}:" in report, report
    await db.run(lambda cur: cur.execute("DELETE FROM payments WHERE order_id = %s", (oid,)))

    await db.run(lambda cur: cur.execute("UPDATE products SET stock = stock + 2"))
    code, report = await audited(settings, live)
    assert code == 1 and f"invariant 2 LEAKED product={product}:" in report, report
    await db.run(lambda cur: cur.execute("UPDATE products SET stock = stock - 2"))

    twice = {**await _event_of(settings, paid), "status": "REJECTED", "event": "OrderRejected"}
    await produce_order_events(settings, [{**twice, "reason": "LIMIT_EXCEEDED"}])
    code, report = await audited(settings, live)
    assert code == 1 and f"invariant 3 DECIDED_TWICE order={paid['order_id']}:" in report, report
    assert report.count("invariant") == 1, report


def _restore(cur: Cursor, row: dict[str, Any]) -> None:
    names = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    cur.execute(f"INSERT INTO orders ({names}) VALUES ({marks})", tuple(row.values()))


async def _event_of(settings: Settings, row: dict[str, Any]) -> dict[str, Any]:
    events = await read_values(settings, ORDER_EVENTS.name(settings))
    return next(
        e for e in events if e["order_id"] == row["order_id"] and e["event"] == "OrderReserved"
    )


async def test_a_hundred_thousand_orders_are_audited_within_30_seconds(
    fresh_settings: Settings,
) -> None:
    """``flashsale-admin audit`` as an operator runs it, on a finished sale of 100,000 orders."""
    shape = Shape(products=20, stock=2500, orders=100_000)
    await write_sale(fresh_settings, shape)
    argv = [str(VENV_BIN / "flashsale-admin"), "audit", "--worker-url", "http://127.0.0.1:9"]
    began = time.monotonic()
    env = {**os.environ, **fresh_settings.to_env()}
    done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True)
    took = time.monotonic() - began
    print(done.stdout, f"audit of {shape.orders} orders: {took:.1f}s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{shape.orders} orders ({shape.orders} acknowledged), 50000 units" in done.stdout
    assert f"Redis: {shape.products}" in done.stdout
    assert took < 30.0, done.stdout
