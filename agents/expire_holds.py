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
partitions at once (measured: a 20,000-hold burst then left new orders waiting
minutes). Two bounds: at most ``PROPOSALS_PER_TICK`` go out every
``TICK_SECONDS``, and at most ``IN_FLIGHT`` proposals are on their way at once
(proposed, their hold not yet released in the hold set). The second makes the
pace follow the stock agent: while it is busy with orders, its expiry decisions
come back slowly and fewer are proposed, and new orders never queue behind more
than ``IN_FLIGHT`` expiries. A proposal is repeated only after
``REPROPOSE_AFTER_SECONDS`` (a lost command, or a projection far behind), so the
pace is not spent on duplicates.

A tick's proposals for one product go out as one CommandBatch record, which the
stock agent decides as one batch (topology.md, "Command records"): an expiry in a
batch costs it a fraction of a bare command, so the bounds are ten times what
they were with one record an expiry (50 a tick, 100 in flight).
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
from streams.records import MAX_BATCH_COMMANDS, CommandBatch, ExpireOrder
from streams.topics import product_message_key

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1
PROPOSALS_PER_TICK = 500
IN_FLIGHT = 1000
REPROPOSE_AFTER_SECONDS = 10.0
MYSQL_SWEEP_SECONDS = 30.0
# Enough due holds to see every proposal in flight and the next tick's new ones.
MAX_LOOKUP = IN_FLIGHT + PROPOSALS_PER_TICK

Hold = tuple[int, str]


class Proposals:
    """What was proposed when: a hold is proposed again only after a while."""

    def __init__(self) -> None:
        self.sent: dict[str, float] = {}
        self.last_sweep = 0.0

    def pick(self, due: list[Hold], now: float) -> list[Hold]:
        """Due holds to propose now, earliest first: not proposed lately, at most
        ``PROPOSALS_PER_TICK``, and at most ``IN_FLIGHT`` on their way in all."""
        due_ids = {order_id for _, order_id in due}
        # A proposal whose hold left the due list was decided; one overdue is retried.
        self.sent = {
            order_id: at
            for order_id, at in self.sent.items()
            if order_id in due_ids and now - at < REPROPOSE_AFTER_SECONDS
        }
        room = min(PROPOSALS_PER_TICK, IN_FLIGHT - len(self.sent))
        fresh = [hold for hold in due if hold[1] not in self.sent][: max(room, 0)]
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
    due = await _due_holds(now, book.sweep_due(now), MAX_LOOKUP)
    by_product: dict[int, list[ExpireOrder]] = {}
    for product_id, order_id in book.pick(due, now):
        command = ExpireOrder(product_id=product_id, order_id=order_id, at=now)
        by_product.setdefault(product_id, []).append(command)
    for product_id, commands in by_product.items():
        for start in range(0, len(commands), MAX_BATCH_COMMANDS):
            await stock_commands.send(
                key=product_message_key(product_id),
                value=proposal(commands[start : start + MAX_BATCH_COMMANDS]),
                value_serializer="json",
            )


def proposal(commands: list[ExpireOrder]) -> ExpireOrder | CommandBatch:
    """One product's expiries as one record: the command itself when it is alone."""
    if len(commands) == 1:
        return commands[0]
    entries = [command.to_representation() for command in commands]
    return CommandBatch(product_id=commands[0].product_id, commands=entries)
