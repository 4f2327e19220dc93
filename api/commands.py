"""Send a stock command and, if the client asked to wait, await its outcome.

The steps, each its own name so the order path (api/orders.py ``create_order``)
can take them one by one with its I/O in sight: ``Awaited`` registers the wait
before the command is produced, so the outcome event cannot slip past, and later
waits for it (no round trip: the outcome listener reads it); ``project_decision``
writes the outcome to the Redis order projection. ``send_command`` is the whole
sequence for pay and cancel. Kafka not acknowledging the command is a 503: the
client may retry (an order with the same Idempotency-Key, a pay or cancel as such:
the stock agent applies each at most once).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web

from api.app_keys import DECISION_WRITES, LISTENER, METRICS, PRODUCER, REDIS, SETTINGS
from api.errors import ApiError, unavailable
from api.group_commit import GroupCommit
from api.kafka import KafkaUnavailable
from api.outcomes import Event, Predicate
from storage import order_projection
from streams.topics import STOCK_COMMANDS, product_message_key

log = logging.getLogger(__name__)

MAX_DECISION_WRITES = 500


def kafka_refused() -> ApiError:
    return unavailable("Kafka cannot take the request now; retry it")


class Awaited:
    """The outcome of ``command`` that satisfies ``until``, awaited at most ``wait`` s.

    Made before the command is produced; ``forget`` it if the produce fails.
    """

    def __init__(self, app: web.Application, command: Any, wait: float, until: Predicate) -> None:
        self._app = app
        self._order_id = command.order_id
        self._kind = type(command).__name__
        self._wait = wait
        self._future = app[LISTENER].expect(command.order_id, until)
        self._since = time.perf_counter()

    def forget(self) -> None:
        self._app[LISTENER].forget(self._order_id, self._future)

    async def event(self) -> Event | None:
        """The outcome event, or None if not in time."""
        metrics = self._app[METRICS]
        try:
            event = await asyncio.wait_for(self._future, self._wait)
        except TimeoutError:
            self.forget()
            metrics.decision_waits_expired.labels(self._kind).inc()
            return None
        metrics.decision_seconds.labels(self._kind).observe(time.perf_counter() - self._since)
        return event


async def send_command(
    request: web.Request,
    command: Any,
    wait: float | None,
    until: Predicate,
) -> Event | None:
    """Produce ``command`` (acks=all); the awaited event, or None if not waiting or not in time."""
    app = request.app
    awaited = Awaited(app, command, wait, until) if wait else None
    try:
        await app[PRODUCER].send(  # Kafka
            STOCK_COMMANDS.name(app[SETTINGS]),
            product_message_key(command.product_id),
            command.dumps(),
        )
    except KafkaUnavailable as exc:
        if awaited is not None:
            awaited.forget()
        raise kafka_refused() from exc
    event = await awaited.event() if awaited is not None else None  # the outcome listener
    if event is not None:
        await project_decision(app, event)  # Redis, shared
    return event


async def project_decision(app: web.Application, event: Event) -> None:
    """Show the client's next read what it was just told (the projection agent may
    lag by a few ms); the projection never moves backwards, so this is safe. The
    decisions of concurrent requests share one write (``decision_writes``)."""
    order = order_projection.projection_of(event)
    if order is None:
        return
    try:
        await app[DECISION_WRITES].submit(None, order)
    except Exception as exc:  # the projection agent writes it too, a little later
        log.warning("could not project order %s: %s", order["order_id"], exc)


def decision_writes(app: web.Application) -> GroupCommit[None, dict[str, Any]]:
    """Decided orders to the Redis projection: one pipeline for those that arrive
    while the previous one is in flight."""
    redis, settings = app[REDIS], app[SETTINGS]

    async def write(_: None, orders: list[dict[str, Any]]) -> None:
        await order_projection.write_orders(redis, settings, orders)

    return GroupCommit(write, MAX_DECISION_WRITES)
