"""Send a stock command and, if the client asked to wait, await its outcome.

The waiter is registered before the command is produced, so the outcome event
cannot slip past. Kafka not acknowledging the command is a 503: the client may
retry (an order with the same Idempotency-Key, a pay or cancel as such: the stock
agent applies each at most once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from api.app_keys import (
    DECISION_WRITES,
    LISTENER,
    METRICS,
    ORDER_PRODUCES,
    PRODUCER,
    REDIS,
    SETTINGS,
)
from api.errors import unavailable
from api.group_commit import GroupCommit
from api.kafka import KafkaUnavailable
from api.outcomes import Predicate
from storage import order_projection
from streams.records import ReserveOrder
from streams.topics import STOCK_COMMANDS, product_message_key

log = logging.getLogger(__name__)

MAX_DECISION_WRITES = 500


async def send_command(
    request: web.Request,
    command: Any,
    wait: float | None,
    until: Predicate,
) -> dict[str, Any] | None:
    """Produce ``command`` (acks=all); the awaited event, or None if not waiting or not in time."""
    app = request.app
    listener = app[LISTENER]
    outcome = listener.expect(command.order_id, until) if wait else None
    produced_at = time.perf_counter()
    try:
        if isinstance(command, ReserveOrder):  # coalesced per product (api/order_produces.py)
            await app[ORDER_PRODUCES].submit(command.product_id, command)
        else:
            await app[PRODUCER].send(
                STOCK_COMMANDS.name(app[SETTINGS]),
                product_message_key(command.product_id),
                command.dumps(),
            )
    except KafkaUnavailable as exc:
        if outcome is not None:
            listener.forget(command.order_id, outcome)
        raise unavailable("Kafka cannot take the request now; retry it") from exc
    if outcome is None:
        return None
    try:
        event = await asyncio.wait_for(outcome, wait)
    except TimeoutError:
        listener.forget(command.order_id, outcome)
        app[METRICS].decision_waits_expired.labels(type(command).__name__).inc()
        return None
    seconds = time.perf_counter() - produced_at
    app[METRICS].decision_seconds.labels(type(command).__name__).observe(seconds)
    await _project(request, event)
    return event


async def _project(request: web.Request, event: dict[str, Any]) -> None:
    """Show the client's next read what it was just told (the projection agent may
    lag by a few ms); the projection never moves backwards, so this is safe. The
    decisions of concurrent requests share one write (``decision_writes``)."""
    order = order_projection.projection_of(event)
    if order is None:
        return
    try:
        await request.app[DECISION_WRITES].submit(None, order)
    except Exception as exc:  # the projection agent writes it too, a little later
        log.warning("could not project order %s: %s", order["order_id"], exc)


def decision_writes(app: web.Application) -> GroupCommit[None, dict[str, Any]]:
    """Decided orders to the Redis projection: one pipeline for those that arrive
    while the previous one is in flight."""
    redis, settings = app[REDIS], app[SETTINGS]

    async def write(_: None, orders: list[dict[str, Any]]) -> None:
        await order_projection.write_orders(redis, settings, orders)

    return GroupCommit(write, MAX_DECISION_WRITES)
