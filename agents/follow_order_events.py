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
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.charge_payments import charge_payments
from agents.persist_orders import persist_orders
from agents.project_order_status import project_order_status
from agents.saga_metrics import saga_metrics
from streams.app import app, order_events

BATCH_SIZE = 500
# Short: the Redis status is what a buyer's next request reads.
BATCH_WITHIN_SECONDS = 0.02


async def follow(values: list[Any]) -> None:
    """The three jobs of one batch, concurrently; returns when all are done."""
    await asyncio.gather(
        project_order_status(values), persist_orders(values), charge_payments(values)
    )
    saga_metrics().followed.inc(len(values))


@app.agent(order_events, concurrency=1)
async def follow_order_events(stream: Any) -> None:
    async for events in stream.noack_take(BATCH_SIZE, within=BATCH_WITHIN_SECONDS):
        await follow([event.value for event in events])
        # Only now: every answer is in the producer, flushed before any commit.
        for event in events:
            await stream.ack(event)
