"""Propose expiries: send ``ExpireOrder`` for holds whose time has come, at a bounded pace.

This timer never decides and never writes a table. It only puts the current time
into the command stream for due holds; the stock agent, the single writer,
decides with that time (a hold paid or released meanwhile is left alone), so a
duplicate or late proposal is harmless. Due holds come from the Redis hold set
(kept by the status projection) and, every ``MYSQL_SWEEP_SECONDS`` or while
Redis is down, from MySQL.

Paced, because an expiry costs the stock agent as much as a new order: holds
that run out together (a sale's first minutes, ``FLASHSALE_HOLD_SECONDS`` later)
would otherwise put thousands of commands ahead of new orders in the product
partitions at once. At most ``PROPOSALS_PER_TICK`` go out every ``TICK_SECONDS``
(500 a second), so new orders wait behind at most one small batch, and a burst
of 20,000 expiries is proposed within 40 s. A proposal is not repeated for
``REPROPOSE_AFTER_SECONDS`` (its hold stays in the set until the projection
sees the decision), so the pace is spent on new expiries, not on duplicates.
"""

from __future__ import annotations

import functools
import logging
import time

from redis.exceptions import RedisError

from agents.clients import database, redis_client
from storage import order_projection
from storage.mysql import Cursor
from streams.app import app, settings, stock_commands
from streams.records import ExpireOrder
from streams.topics import product_key

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
PROPOSALS_PER_TICK = 50
REPROPOSE_AFTER_SECONDS = 10.0
MYSQL_SWEEP_SECONDS = 30.0
# Enough rows to find PROPOSALS_PER_TICK new ones past those proposed already.
MAX_LOOKUP = 5000

Hold = tuple[int, str]


class Proposals:
    """What was proposed when: a hold is proposed again only after a while."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.last_sweep = 0.0

    def pick(self, due: list[Hold], now: float) -> list[Hold]:
        """At most ``PROPOSALS_PER_TICK`` due holds not proposed lately, earliest first."""
        self.sent = {o: at for o, at in self.sent.items() if now - at < REPROPOSE_AFTER_SECONDS}
        fresh = [hold for hold in due if hold[1] not in self.sent][:PROPOSALS_PER_TICK]
        self.sent.update((order_id, now) for _, order_id in fresh)
        return fresh

    def sweep_due(self, now: float) -> bool:
        if now - self.last_sweep < MYSQL_SWEEP_SECONDS:
            return False
        self.last_sweep = now
        return True


@functools.cache
def proposals() -> Proposals:
    return Proposals()


def _due_in_mysql(cur: Cursor) -> list[Hold]:
    cur.execute(
        "SELECT product_id, order_id FROM orders WHERE status = 'RESERVED'"
        " AND expires_at <= UTC_TIMESTAMP(6) ORDER BY expires_at LIMIT %s",
        (MAX_LOOKUP,),
    )
    return [(int(row["product_id"]), row["order_id"]) for row in cur.fetchall()]


async def _due_holds(now: float, sweep_mysql: bool, limit: int) -> list[Hold]:
    due: dict[str, Hold] = {}
    try:
        holds = await order_projection.due_holds(redis_client(), settings, now, limit)
        due.update((order_id, (pid, order_id)) for pid, order_id in holds)
    except (RedisError, OSError) as exc:
        log.warning("hold set unavailable (%s); asking MySQL", exc)
        sweep_mysql = True
    if sweep_mysql:
        try:
            rows = await database().run(_due_in_mysql)
            due.update((order_id, (pid, order_id)) for pid, order_id in rows)
        except Exception as exc:  # MySQL down too: the next tick tries again
            log.warning("MySQL sweep for due holds failed: %s", exc)
    return list(due.values())


@app.timer(interval=TICK_SECONDS, on_leader=True)
async def expire_holds() -> None:
    now = time.time()
    book = proposals()
    limit = min(MAX_LOOKUP, PROPOSALS_PER_TICK + len(book.sent))
    for product_id, order_id in book.pick(await _due_holds(now, book.sweep_due(now), limit), now):
        command = ExpireOrder(product_id=product_id, order_id=order_id, at=now)
        await stock_commands.send(key=product_key(product_id), value=command)
