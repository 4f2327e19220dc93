"""Write every payment event to MySQL's ``payments`` table, in batches.

Consumes ``payment-events``; each batch is inserted with one ``executemany`` in
one transaction, in a thread. A payment is written once (keyed by its
deterministic ``payment_id``), so replays are ignored. While MySQL is down the
batch is retried with back-off and stays unacked; nothing is lost.
"""

from __future__ import annotations

import functools
from typing import Any

from agents.clients import persistence_database
from storage.payment_rows import insert_payments, payment_row
from storage.retrying import run_until_done
from streams.app import app, payment_events

BATCH_SIZE = 500
BATCH_WITHIN_SECONDS = 0.2


@app.agent(payment_events, concurrency=1)
async def persist_payments(stream: Any) -> None:
    async for events in stream.noack_take(BATCH_SIZE, within=BATCH_WITHIN_SECONDS):
        rows = [row for event in events if (row := payment_row(event.value)) is not None]
        if rows:
            await run_until_done(
                persistence_database(),
                functools.partial(insert_payments, rows=rows),
                "payments",
            )
        for event in events:
            await stream.ack(event)
