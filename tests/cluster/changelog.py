"""Does the stock table's changelog end where the live table and MySQL are?

The changelog is what a worker restores its table from after a crash or a
rebalance, so its last record of every key must be the live state: the last
product record equal to what the worker serves (``GET /stock/``), the last order
record in the status MySQL holds. A record written late by a worker that no
longer owned the partition (a zombie), or replayed out of order after a broker
failed, would end the log with an older state, and the next restore would bring
that state back. The audit reads the live table, so only this check sees it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from kit.kafka import read_to_end
from storage.mysql import Cursor, Database
from streams.settings import Settings
from streams.topics import faust_topics
from tables.stock_records import ORDER_PREFIX, PRODUCT_PREFIX
from tables.stock_transactions import COMMITTED_WITHIN_SECONDS
from tests.support.stock_sale import worker_stock

COUNTERS = ("remaining", "held", "sold", "stock", "last_offset")


async def last_records(settings: Settings) -> dict[str, dict[str, Any]]:
    """The last committed value of every key of the changelog (keys are JSON strings),
    as a restore reads it."""
    topic = faust_topics(settings)[0].name
    # The owners' last transactions leave with their commits, a second apart at most.
    await asyncio.sleep(COMMITTED_WITHIN_SECONDS)
    records = await read_to_end(settings, topic, timeout=60)
    last: dict[str, dict[str, Any]] = {}
    for record in records:  # one key lives in one partition, read in its order
        last[json.loads(record.key)] = json.loads(record.value)
    return last


def _statuses(cur: Cursor) -> dict[str, str]:
    cur.execute("SELECT order_id, status FROM orders")
    return {str(row["order_id"]): str(row["status"]) for row in cur.fetchall()}


async def disagreements(settings: Settings, worker_ports: list[int]) -> list[str]:
    """Every key whose last changelog record is not the live state; [] when all agree."""
    last = await last_records(settings)
    live = {int(p["product_id"]): p for port in worker_ports for p in worker_stock(port)}
    db = Database(settings.mysql_url, size=1)
    try:
        statuses = await db.run(_statuses)
    finally:
        db.close()
    found = []
    for key, value in sorted(last.items()):
        if key.startswith(PRODUCT_PREFIX):
            product = live.get(int(value["product_id"]))
            logged = {name: value[name] for name in COUNTERS}
            served = {name: product[name] for name in COUNTERS} if product else None
            if logged != served:
                found.append(f"{key}: changelog {logged}, live {served}")
        elif key.startswith(ORDER_PREFIX):
            order_id = key.removeprefix(ORDER_PREFIX)
            if value["status"] != statuses.get(order_id):
                found.append(f"{key}: changelog {value['status']}, MySQL {statuses.get(order_id)}")
    return found
