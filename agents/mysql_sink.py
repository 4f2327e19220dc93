"""Persist a stream to MySQL in batches, at least once, never skipping a batch.

Each batch (up to ``BATCH_SIZE`` events within ``BATCH_WITHIN_SECONDS``) becomes
rows, written with one ``executemany`` in one transaction, in a thread. While
MySQL is down the batch is retried with back-off and its events stay unacked,
so no offset is committed past an unwritten event; when MySQL returns, the
agent catches up.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from agents.clients import persistence_database
from agents.saga_metrics import count_mysql_retry, saga_metrics
from storage.mysql import Cursor
from storage.retrying import run_until_done

BATCH_SIZE = 500
BATCH_WITHIN_SECONDS = 0.2

ToRow = Callable[[Mapping[str, Any]], Any | None]
Write = Callable[..., Any]


async def write_rows(
    values: Iterable[Mapping[str, Any]], to_row: ToRow, write: Write, what: str
) -> None:
    """Write ``to_row`` of every value with ``write(cursor, rows=...)``, until done."""
    values = list(values)
    rows = [row for value in values if (row := to_row(value)) is not None]
    if rows:
        work: Callable[[Cursor], Any] = functools.partial(write, rows=rows)
        metrics = saga_metrics()
        await run_until_done(persistence_database(), work, what, count_mysql_retry)
        metrics.persisted_batches.labels(what).inc()
        metrics.persisted_rows.labels(what).inc(len(rows))
        oldest = min(event_time(value) for value in values)
        metrics.persistence_delay.labels(what).observe(max(time.time() - oldest, 0.0))


def event_time(value: Mapping[str, Any]) -> float:
    """When an event happened: an order event's ``updated_at`` (its command's time),
    a payment event's ``at``."""
    return float(value.get("updated_at") or value.get("at") or time.time())


async def persist_batches(stream: Any, to_row: ToRow, write: Write, what: str) -> None:
    """Write ``to_row`` of every event of the stream in batches; ack each batch after."""
    async for events in stream.noack_take(BATCH_SIZE, within=BATCH_WITHIN_SECONDS):
        await write_rows([event.value for event in events], to_row, write, what)
        for event in events:
            await stream.ack(event)
