"""Propose expiries: send ``ExpireOrder`` for every hold whose time has come.

This timer never decides and never writes a table. It only puts the current time
into the command stream for due holds; the stock agent, the single writer,
decides with that time (a hold paid or released meanwhile is left alone), so a
duplicate or late proposal is harmless. Due holds come from the Redis hold set
(kept by the status projection) and, every ``MYSQL_SWEEP_SECONDS`` or while
Redis is down, from MySQL.
"""

from __future__ import annotations

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

TICK_SECONDS = 1.0
MYSQL_SWEEP_SECONDS = 30.0
BATCH = 1000


def _due_in_mysql(cur: Cursor) -> list[tuple[int, str]]:
    cur.execute(
        "SELECT product_id, order_id FROM orders WHERE status = 'RESERVED'"
        " AND expires_at <= UTC_TIMESTAMP(6) ORDER BY expires_at LIMIT %s",
        (BATCH,),
    )
    return [(int(row["product_id"]), row["order_id"]) for row in cur.fetchall()]


async def _due_holds(now: float, sweep_mysql: bool) -> list[tuple[int, str]]:
    due: set[tuple[int, str]] = set()
    try:
        due.update(await order_projection.due_holds(redis_client(), settings, now, BATCH))
    except (RedisError, OSError) as exc:
        log.warning("hold set unavailable (%s); asking MySQL", exc)
        sweep_mysql = True
    if sweep_mysql:
        try:
            due.update(await database().run(_due_in_mysql))
        except Exception as exc:  # MySQL down too: the next tick tries again
            log.warning("MySQL sweep for due holds failed: %s", exc)
    return sorted(due)


@app.timer(interval=TICK_SECONDS, on_leader=True)
async def expire_holds() -> None:
    now = time.time()
    sweep_mysql = int(now) % int(MYSQL_SWEEP_SECONDS) == 0
    for product_id, order_id in await _due_holds(now, sweep_mysql):
        command = ExpireOrder(product_id=product_id, order_id=order_id, at=now)
        await stock_commands.send(key=product_key(product_id), value=command)
