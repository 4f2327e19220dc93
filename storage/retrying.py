"""Run MySQL work until it is done: the sinks wait out an outage instead of failing.

A consumer that must not lose what it consumed (the persistence agents, the
payment gateway) calls ``run_until_done``; while MySQL is unreachable it retries
with capped exponential back-off, so the worker stays up and its offsets stay
where the unwritten events are. It never gives up: giving up would mean dropping
data or crashing the worker, and a restart would only retry the same thing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

import pymysql

from storage.backoff import Backoff
from storage.mysql import Cursor, Database

T = TypeVar("T")
log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0


async def run_until_done(
    db: Database,
    work: Callable[[Cursor], T],
    what: str,
    on_retry: Callable[[str], None] | None = None,
) -> T:
    """``await db.run(work)``, retried with back-off until it succeeds; ``on_retry(what)``
    is told of every failed attempt (the workers count them)."""
    backoff = None  # made at the first failure: a call that succeeds at once allocates none
    while True:
        try:
            result = await db.run(work)
        except (pymysql.MySQLError, OSError) as exc:
            backoff = backoff or Backoff(FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS)
            delay = backoff.failed()
            if on_retry is not None:
                on_retry(what)
            failures = backoff.failures
            if failures & (failures - 1) == 0:  # 1, 2, 4, 8...: an outage is not a log flood
                log.log(
                    _level(exc), "%s: MySQL failed %d time(s) (%s); retrying", what, failures, exc
                )
            await asyncio.sleep(delay)
            continue
        if backoff is not None:
            log.info("%s: MySQL answered again after %d failed attempts", what, backoff.succeeded())
        return result


def _level(exc: BaseException) -> int:
    # Connection errors are expected during an outage; anything else (a schema
    # or data problem) needs an operator, so say it louder.
    transient = isinstance(exc, pymysql.OperationalError | pymysql.InterfaceError | OSError)
    return logging.WARNING if transient else logging.ERROR
