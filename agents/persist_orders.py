"""Write every order event to MySQL's ``orders`` table, in batches (agents/mysql_sink.py).

Each batch is merged to one row per order; the upsert never moves a status
backwards (``storage.order_rows``), so replays and out-of-order delivery are
harmless.
"""

from __future__ import annotations

from typing import Any

from agents.mysql_sink import persist_batches
from storage.order_rows import order_row, upsert_orders
from streams.app import app, order_events


@app.agent(order_events, concurrency=1)
async def persist_orders(stream: Any) -> None:
    await persist_batches(stream, order_row, upsert_orders, "orders")
