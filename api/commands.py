"""Send a stock command and, if the client asked to wait, await its outcome.

The waiter is registered before the command is produced, so the outcome event
cannot slip past. Kafka not acknowledging the command is a 503: the client may
retry (an order with the same Idempotency-Key, a pay or cancel as such: the stock
agent applies each at most once).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from api.errors import unavailable
from api.kafka import KafkaUnavailable
from api.keys import LISTENER, PRODUCER, SETTINGS
from api.outcomes import Predicate
from streams.topics import STOCK_COMMANDS, product_key


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
    try:
        await app[PRODUCER].send(
            STOCK_COMMANDS.name(app[SETTINGS]), product_key(command.product_id), command.dumps()
        )
    except KafkaUnavailable as exc:
        if outcome is not None:
            listener.forget(command.order_id, outcome)
        raise unavailable("Kafka cannot take the request now; retry it") from exc
    if outcome is None:
        return None
    try:
        return await asyncio.wait_for(outcome, wait)
    except TimeoutError:
        listener.forget(command.order_id, outcome)
        return None
