"""Everything that follows a decision, for each batch of ``order-events``: the saga role's reader.

One reader takes the topic's records a fetch at a time and hands each batch to its
three jobs at once: the Redis order status (agents/project_order_status.py), the
MySQL rows (agents/persist_orders.py) and the payments (agents/charge_payments.py).
The batch's offsets are committed only when all three are done (the payments'
records acknowledged by Kafka), and every job is idempotent, so a replay after a
crash is harmless.

The reader is a consumer group of its own (``<app_id>-saga-events``,
streams/topics.py ``reader_groups``) run inside the saga worker
(streams/batch_reader.py), not a Faust agent: Faust's delivery of each record to an
agent cost about 88 µs an event, and with the stock worker on the other core the
two split the machine, so the saga's share was taken from the decisions. One
reader per topic also keeps clear of the rebalance stall of issue 10 (a message
read by several agents of one worker, left half-acknowledged by a rebalance).

Values are read as bytes and each batch decoded here, in one loop; a value that is
not JSON is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import orjson

from agents.charge_payments import charge_payments
from agents.persist_orders import persist_orders
from agents.project_order_status import project_order_status
from agents.saga_metrics import saga_metrics
from streams.app import app, settings
from streams.batch_reader import BatchReader
from streams.topics import ORDER_EVENTS, reader_groups

log = logging.getLogger(__name__)

# The most events one batch carries: a fetch hands over what it brought, up to this.
BATCH_SIZE = 500


def decoded(values: Iterable[Any]) -> list[Any]:
    """The batch's events as JSON objects; a value that is not one is logged and left out."""
    events = []
    for value in values:
        try:
            event = orjson.loads(value)
        except (orjson.JSONDecodeError, TypeError):
            event = None
        if isinstance(event, dict):
            events.append(event)
        else:
            log.error("skipping an order event that is not a JSON object: %.300r", value)
    return events


async def follow(values: list[Any]) -> None:
    """The three jobs of one batch, concurrently; returns when all are done."""
    await asyncio.gather(
        project_order_status(values), persist_orders(values), charge_payments(values)
    )
    saga_metrics().followed.inc(len(values))


async def follow_values(values: list[Any]) -> None:
    await follow(decoded(values))


order_events_reader = BatchReader(
    settings.kafka_bootstrap,
    ORDER_EVENTS.name(settings),
    reader_groups(settings, (ORDER_EVENTS,))[ORDER_EVENTS.name(settings)],
    follow_values,
    max_records=BATCH_SIZE,
    instance_id=f"{settings.app_id}.{settings.worker_id}.events" if settings.worker_id else None,
)


@app.task
async def follow_order_events() -> None:
    await order_events_reader.run()
