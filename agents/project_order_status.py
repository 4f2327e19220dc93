"""Keep the Redis order status projection current: every order event, a batch at a time.

Not a table writer: it only writes Redis, through a script that never moves an
order backwards, so replayed or duplicated events are harmless. While Redis is
down it waits and retries (the batch is not acked, so no offset is committed
past unprojected events).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from redis.exceptions import RedisError

from agents.clients import redis_client
from agents.saga_metrics import saga_metrics
from storage import order_projection
from storage.backoff import Backoff
from streams.app import settings

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


def projected(event: Mapping[str, Any]) -> dict[str, Any] | None:
    order = order_projection.projection_of(event)
    if order is None:
        log.warning("skipping a malformed order event: %r", event)
    return order


async def _write_until_done(orders: list[dict[str, Any]]) -> None:
    backoff = None  # made at the first failure: a batch written at once allocates none
    while True:
        try:
            await order_projection.write_orders(redis_client(), settings, orders)
            saga_metrics().projected_batches.inc()
            return
        except (RedisError, OSError) as exc:
            backoff = backoff or Backoff(FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS)
            delay = backoff.failed()
            saga_metrics().projection_retries.inc()
            log.warning("Redis unavailable (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)


async def project_order_status(events: Iterable[Mapping[str, Any]]) -> None:
    """Return once the batch's orders are in Redis (retrying while Redis is down)."""
    orders = [order for event in events if (order := projected(event)) is not None]
    if orders:
        await _write_until_done(orders)
