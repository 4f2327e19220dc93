"""Waiting until the system is quiet, so the invariants can be checked at all.

Quiet means: the app's consumer group has committed every message of the
pipeline's topics (the stock agent has decided every command, the persistence
and payment agents have written every event), MySQL's orders and payments have
not changed for ``STABLE_SECONDS``, and every order acknowledged in
``stock-commands`` has its row. A row that stays missing while everything else
is quiet for ``MISSING_GRACE_SECONDS`` is no longer waited for: it is a
violation for the checks to report, not a reason to wait.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ops.audit_kafka import CommandFacts, EventFacts, GroupLag, TopicLog
from storage.mysql import Cursor, Database

STABLE_SECONDS = 1.0
MISSING_GRACE_SECONDS = 5.0
POLL_SECONDS = 0.25
CHUNK = 1000


class NotQuiet(Exception):
    """The system did not become quiet in time; the message says what still moved."""


@dataclass
class Pipeline:
    """The Kafka side the audit reads while it waits."""

    commands: TopicLog
    events: TopicLog
    lag: GroupLag
    command_facts: CommandFacts
    event_facts: EventFacts

    async def catch_up(self) -> dict[str, int]:
        """Read what is new on both topics; the group's lag per topic."""
        self.command_facts.add(await self.commands.catch_up())
        self.event_facts.add(await self.events.catch_up())
        return await self.lag.measure()


def snapshot(cur: Cursor) -> tuple[Any, ...]:
    """Orders per status (count and units) and the number of payments."""
    cur.execute("SELECT status, COUNT(*) AS n, SUM(qty) AS units FROM orders GROUP BY status")
    orders = tuple(sorted((r["status"], int(r["n"]), int(r["units"])) for r in cur.fetchall()))
    cur.execute("SELECT COUNT(*) AS n FROM payments")
    (payments,) = cur.fetchall()
    return orders, int(payments["n"])


def stored_ids(cur: Cursor, order_ids: Sequence[str]) -> set[str]:
    """Which of ``order_ids`` have a row; many ids at once are found in one scan."""
    if len(order_ids) > 10 * CHUNK:
        cur.execute("SELECT order_id FROM orders")
        return {r["order_id"] for r in cur.fetchall()} & set(order_ids)
    found: set[str] = set()
    for start in range(0, len(order_ids), CHUNK):
        chunk = order_ids[start : start + CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        cur.execute(f"SELECT order_id FROM orders WHERE order_id IN ({marks})", chunk)
        found.update(r["order_id"] for r in cur.fetchall())
    return found


class Progress:
    """What the last polls saw; ``quiet`` decides from it."""

    def __init__(self, start: float) -> None:
        self.last: tuple[Any, ...] | None = None
        self.stable_since = start
        self.lag: dict[str, int] = {}
        self.missing = 0
        self.stored: set[str] = set()

    def observe(self, now: float, seen: tuple[Any, ...], lag: dict[str, int]) -> None:
        if seen != self.last or any(lag.values()):
            self.stable_since = now
        self.last, self.lag = seen, lag

    def quiet(self, now: float) -> bool:
        stable = now - self.stable_since
        if any(self.lag.values()) or stable < STABLE_SECONDS:
            return False
        return self.missing == 0 or stable >= MISSING_GRACE_SECONDS

    def describe(self) -> str:
        lag = ", ".join(f"{topic} {n}" for topic, n in self.lag.items())
        return f"consumer lag: {lag}; acknowledged orders without a row: {self.missing}"


async def wait_until_quiet(db: Database, pipeline: Pipeline, timeout: float) -> float:
    """Seconds it took to become quiet; ``NotQuiet`` after ``timeout``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    progress = Progress(start)
    while True:
        lag = await pipeline.catch_up()
        seen = await db.run(snapshot)
        unknown = sorted(pipeline.command_facts.acknowledged - progress.stored)
        progress.stored |= await db.run(functools.partial(stored_ids, order_ids=unknown))
        progress.missing = len(pipeline.command_facts.acknowledged - progress.stored)
        now = loop.time()
        progress.observe(now, seen, lag)
        if progress.quiet(now):
            return now - start
        if now - start > timeout:
            raise NotQuiet(f"not quiet after {timeout:g}s: {progress.describe()}")
        await asyncio.sleep(POLL_SECONDS)
