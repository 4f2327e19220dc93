"""Everything that follows a decision, for each batch of ``order-events``: the saga role's agent.

One agent reads the topic and hands each batch to its three jobs at once: the
Redis order status (agents/project_order_status.py), the MySQL rows
(agents/persist_orders.py) and the payments (agents/charge_payments.py). The
batch is acked only when all three are done, so no offset is committed past an
event one of them has not handled, and every job is idempotent, so a replay
after a crash is harmless.

One agent, not three: Faust gives a message read by several agents of one
worker a reference count, and a rebalance empties the agents' queues without
releasing their references, so a message one agent had taken and another had
queued is never fully acked and Faust's revoke waits for it for ever (the
rebalance stalls in issue 10). With one reader per topic that cannot happen.

The topic is read as bytes and each batch decoded here, in one loop: Faust's
JSON codec would decode event by event through its serializer registry, and a
value that is not JSON would be thrown into the stream instead of skipped.
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
from streams.topics import ORDER_EVENTS

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# Short: the Redis status is what a buyer's next request reads.
BATCH_WITHIN_SECONDS = 0.02

raw_order_events = app.topic(
    ORDER_EVENTS.name(settings),
    partitions=settings.partitions,
    key_serializer="raw",
    value_serializer="raw",
)


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


@app.agent(raw_order_events, concurrency=1)
async def follow_order_events(stream: Any) -> None:
    async for events in stream.noack_take(BATCH_SIZE, within=BATCH_WITHIN_SECONDS):
        await follow(decoded(event.value for event in events))
        # Only now: every answer is in the producer, flushed before any commit.
        for event in events:
            await stream.ack(event)
