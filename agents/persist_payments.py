"""Write every payment event to MySQL's ``payments`` table, in batches (agents/mysql_sink.py).

A payment is written once, keyed by its deterministic ``payment_id``, so
replays are ignored.
"""

from __future__ import annotations

from typing import Any

from agents.mysql_sink import persist_batches
from storage.payment_rows import insert_payments, payment_row
from streams.app import app, payment_events


@app.agent(payment_events, concurrency=1)
async def persist_payments(stream: Any) -> None:
    await persist_batches(stream, payment_row, insert_payments, "payments")
