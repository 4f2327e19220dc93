"""What an outside analytics consumer relies on, checked against a real sale.

One small sale through the real API, workers, MariaDB and Redis produces every kind
of command and most kinds of event: orders reserved and rejected, paid (some
declined by the simulated gateway), refunded, cancelled, expired, a restock. Then:

- every record on ``stock-commands``, ``order-events`` and ``payment-events``
  validates against its committed schema (schemas/, ops/record_schemas.py);
- the example consumer (analytics/sales_per_minute.py), run as an analyst runs it,
  adds up to what MySQL says was sold and refunded, product by product;
- so do the analytics worker's windowed tables (agents/sales_table.py), read with
  ``faust -A streams.app sales --json``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest

from kit.kafka import end_offsets_total
from kit.processes import ManagedProcess
from kit.sale import Member, list_product
from kit.sale import seed_members as seed
from ops.record_schemas import SCHEMA_DIR
from storage.mysql import Database
from streams.records import command_entries
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, PAYMENT_EVENTS, STOCK_COMMANDS
from tests.support.checkout import cancel, order, pay, wait_until_quiet
from tests.support.sale import decoded, read_topic

pytestmark = pytest.mark.integration

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]
ROOT = Path(__file__).resolve().parents[2]
SCHEMA_OF_TOPIC = {
    STOCK_COMMANDS: "stock-commands.schema.json",
    ORDER_EVENTS: "order-events.schema.json",
    PAYMENT_EVENTS: "payment-events.schema.json",
}
# Kinds a sale below always produces (a declined payment depends on the order ids).
EXPECTED = {
    STOCK_COMMANDS: {"ListProduct", "RestockProduct", "ReserveOrder", "PayOrder", "CancelOrder"}
    | {"ExpireOrder", "SettlePayment"},
    ORDER_EVENTS: {"OrderReserved", "OrderRejected", "PaymentRequested", "OrderPaid"}
    | {"OrderCancelled", "OrderExpired", "RefundRequested", "OrderRefunded"},
    PAYMENT_EVENTS: {"PaymentSucceeded", "PaymentRefunded"},
}


async def run_sale(
    settings: Settings, base: str, products: list[int], buyers: list[Member]
) -> set[str]:
    """Order (the first buyer twice: rejected over the limit); pay the first 12
    reservations at once and cancel the 13th (before their holds can run out, however
    slow this machine is); the rest expire; then two of the paid orders are cancelled,
    so refunded. The order ids the API acknowledged."""
    acknowledged: set[str] = set()
    paid: list[tuple[Member, str]] = []
    reserved = 0
    async with aiohttp.ClientSession() as http:
        for n, member in enumerate(buyers):
            status, answer = await order(http, base, member, products[n % len(products)])
            assert status in (201, 409), answer
            if answer.get("order_id"):
                acknowledged.add(answer["order_id"])
            if status != 201:
                continue
            reserved += 1
            if reserved == 1:  # once more: over the limit of one, an OrderRejected event
                status, again = await order(http, base, member, products[0])
                assert (status, again["reason"]) == (409, "LIMIT_EXCEEDED"), again
                acknowledged.add(again["order_id"])
            if reserved <= 12:
                status, answer = await pay(http, base, member, answer["order_id"])
                assert (status, answer["status"]) in ((200, "PAID"), (402, "PAYMENT_FAILED"))
                if status == 200:
                    paid.append((member, answer["order_id"]))
            elif reserved == 13:
                status, answer = await cancel(http, base, member, answer["order_id"])
                assert (status, answer["status"]) == (200, "CANCELLED"), answer
        assert reserved > 13 and len(paid) >= 3, (reserved, paid)
        for member, order_id in paid[:2]:
            status, answer = await cancel(http, base, member, order_id)
            assert (status, answer["status"]) == (200, "REFUNDED"), answer
    return acknowledged


async def read_all(settings: Settings) -> dict[Any, list[dict[str, Any]]]:
    values = {}
    for spec in SCHEMA_OF_TOPIC:
        topic = spec.name(settings)
        total = await end_offsets_total(settings, topic)
        values[spec] = decoded(await read_topic(settings, topic, until=total, timeout=30))
        assert len(values[spec]) == total
    return values


def run_example(settings: Settings, *options: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "analytics.sales_per_minute", *options]
    argv += ["--app-id", settings.app_id, "--bootstrap", settings.kafka_bootstrap]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)


async def sold_in_mysql(settings: Settings) -> dict[int, dict[str, int]]:
    """By product: units and money of orders that were paid, and of those refunded."""
    sql = """
        SELECT product_id,
               SUM(IF(status IN ('PAID', 'REFUNDED'), qty, 0)) AS units_sold,
               SUM(IF(status IN ('PAID', 'REFUNDED'), amount, 0)) AS revenue,
               SUM(IF(status = 'REFUNDED', qty, 0)) AS units_refunded,
               SUM(IF(status = 'REFUNDED', amount, 0)) AS refunded
        FROM orders GROUP BY product_id"""
    db = Database(settings.mysql_url)
    try:
        rows = await db.run(lambda cur: (cur.execute(sql), cur.fetchall())[1])
    finally:
        db.close()
    return {r["product_id"]: {k: int(v) for k, v in r.items() if k != "product_id"} for r in rows}


async def test_records_match_their_schemas_and_the_example_consumer_matches_mysql(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    settings = settings_factory(payment_failure_rate=0.2, hold_seconds=3)
    worker_factory(settings)
    worker_factory(settings, "analytics-1", role="analytics")
    _, base = api_factory(settings)
    admin, *_ = seed(settings, 1, role="admin")
    buyers = seed(settings, 22)
    products = [(await list_product(base, admin, stock=8))["product_id"] for _ in range(2)]
    async with aiohttp.ClientSession() as http:
        url = f"{base}/admin/products/{products[0]}/restock"
        async with http.post(url, json={"qty": 1}, headers=admin.headers) as resp:
            assert resp.status == 202, await resp.text()
    acknowledged = await run_sale(settings, base, products, buyers)
    db = Database(settings.mysql_url)
    try:
        await wait_until_quiet(db, acknowledged)
    finally:
        db.close()

    values = await read_all(settings)
    for spec, name in SCHEMA_OF_TOPIC.items():
        validator = jsonschema.Draft202012Validator(json.loads((SCHEMA_DIR / name).read_text()))
        for value in values[spec]:
            validator.validate(value)
        # A CommandBatch's commands count by their own kinds (a batch of settlements).
        entries = [e for v in values[spec] for e in command_entries(v)]
        kinds = {v.get("kind") or v.get("event") for v in entries}
        assert EXPECTED[spec] <= kinds, (spec.base, EXPECTED[spec] - kinds)

    done = await asyncio.to_thread(run_example, settings, "--once")
    assert done.returncode == 0, done.stderr
    print(done.stdout)
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in map(json.loads, done.stdout.splitlines()):
        for name in ("units_sold", "revenue", "units_refunded", "refunded"):
            totals[row["product_id"]][name] += row[name]
    in_mysql = await sold_in_mysql(settings)
    assert totals == in_mysql
    assert sum(t["units_refunded"] for t in totals.values()) >= 1
    sold = {p: {k: t[k] for k in ("units_sold", "revenue")} for p, t in in_mysql.items()}
    assert await asyncio.to_thread(windowed_totals, settings, sold) == sold


def windowed_totals(settings: Settings, expected: dict[int, dict[str, int]]) -> dict[int, Any]:
    """The analytics worker's totals per product, once they equal ``expected`` (or 30 s)."""
    argv = [sys.executable, "-m", "faust", "-A", "streams.app", "sales", "--json"]
    env = {**settings.to_env(), "FLASHSALE_WORKER_ROLE": "analytics"}
    deadline = time.monotonic() + 30
    while True:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        totals: dict[int, Any] = defaultdict(lambda: defaultdict(int))
        for row in map(json.loads, done.stdout.splitlines()):
            totals[row["product_id"]]["units_sold"] += row["units_sold"]
            totals[row["product_id"]]["revenue"] += row["revenue"]
        if totals == expected or time.monotonic() > deadline:
            print(done.stdout)
            return totals
        time.sleep(1)


def test_the_example_refuses_the_apps_own_groups(fresh_settings: Settings) -> None:
    app_id = fresh_settings.app_id
    for group in (app_id, f"{app_id}-saga", f"{app_id}-saga-events"):
        done = run_example(fresh_settings, "--once", "--group", group)
        assert done.returncode == 2 and "the app's own consumer group" in done.stderr
