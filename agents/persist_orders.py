"""Write every order event to MySQL's ``orders`` table, in batches.

Consumes ``order-events``; each batch (up to ``BATCH_SIZE`` events gathered
within ``BATCH_WITHIN_SECONDS``) is merged to one row per order and written with
one ``executemany`` in one transaction, in a thread (``Database.run``). The
upsert never moves a status backwards (``storage.order_rows``), so replays and
out-of-order delivery are harmless. While MySQL is down the batch is retried
with back-off and its events stay unacked, so no offset is committed past an
unwritten event; when MySQL returns, the agent catches up.
"""

from __future__ import annotations

import functools
from typing import Any

from agents.clients import persistence_database
from storage.order_rows import order_row, upsert_orders
from storage.retrying import run_until_done
from streams.app import app, order_events

BATCH_SIZE = 500
BATCH_WITHIN_SECONDS = 0.2


@app.agent(order_events, concurrency=1)
async def persist_orders(stream: Any) -> None:
    async for events in stream.noack_take(BATCH_SIZE, within=BATCH_WITHIN_SECONDS):
        rows = [row for event in events if (row := order_row(event.value)) is not None]
        if rows:
            await run_until_done(
                persistence_database(), functools.partial(upsert_orders, rows=rows), "orders"
            )
        for event in events:
            await stream.ack(event)
