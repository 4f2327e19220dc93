"""Write order events to MySQL's ``orders`` table, a batch at a time (agents/mysql_sink.py).

Each batch is merged to one row per order; the upsert never moves a status
backwards (``storage.order_rows``), so replays and out-of-order delivery are
harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agents.mysql_sink import write_rows
from storage.order_rows import order_row, upsert_orders


async def persist_orders(events: Iterable[Mapping[str, Any]]) -> None:
    """Return once the batch's rows are committed (retrying while MySQL is down)."""
    await write_rows(events, order_row, upsert_orders, "orders")
