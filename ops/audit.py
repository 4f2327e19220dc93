"""``flashsale-admin audit``: check every invariant of the contract on the live system.

Waits until the system is quiet (ops/audit_quiet.py, bounded by ``--timeout``),
then checks invariants 1-6 (ops/audit_checks/invariant_queries.py) with facts from all
three places that hold them: MySQL (orders, payments, the gateway's ledger),
Kafka (the orders the API acknowledged are the ``ReserveOrder`` commands in
``stock-commands``; arrivals and stock returns from ``order-events``) and the
live stock tables (``remaining`` from the workers, ops/audit_stock.py). An order
whose decisions disagree in ``order-events`` is reported too (decided twice).

Prints each violation with the ids involved and a one-line summary: products,
orders and units checked, the time taken, and where ``remaining`` came from
(the workers, or the Redis projection for products no worker reported). Exit status:
0 clean, 1 violations found, 2 not quiet in time or a server unreachable.
From Python: ``await run_audit(settings, worker_urls, timeout)`` returns the same.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, TextIO

import pymysql
from aiokafka.errors import KafkaError

from ops.audit_checks.invariant_queries import check_database
from ops.audit_checks.invariants import Violation
from ops.audit_kafka import CommandFacts, EventFacts, GroupLag, TopicLog
from ops.audit_quiet import NotQuiet, Pipeline, wait_until_quiet
from ops.audit_stock import default_worker_urls, remaining_stock
from storage.mysql import Cursor, Database
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS, reader_groups

CLEAN, VIOLATED, NOT_QUIET = 0, 1, 2
DEFAULT_TIMEOUT_SECONDS = 60.0


@asynccontextmanager
async def pipeline_of(settings: Settings) -> AsyncIterator[Pipeline]:
    commands = TopicLog(settings.kafka_bootstrap, STOCK_COMMANDS.name(settings))
    events = TopicLog(settings.kafka_bootstrap, ORDER_EVENTS.name(settings))
    lag = GroupLag(settings.kafka_bootstrap, reader_groups(settings))
    started: list[Any] = []
    try:
        for part in (commands, events, lag):
            started.append(part)
            await part.start()
        yield Pipeline(commands, events, lag, CommandFacts(), EventFacts())
    finally:
        for part in started:
            await part.stop()


def summary_counts(cur: Cursor) -> dict[str, int]:
    cur.execute("SELECT COUNT(*) AS products, COALESCE(SUM(stock), 0) AS units FROM products")
    (products,) = cur.fetchall()
    cur.execute("SELECT COUNT(*) AS orders FROM orders")
    (orders,) = cur.fetchall()
    counts = {**products, **orders}
    return {name: int(counts[name]) for name in ("products", "units", "orders")}


def decided_twice(facts: EventFacts) -> list[Violation]:
    return [
        Violation(3, "DECIDED_TWICE", f"outcomes {sorted(outcomes)}", order_id=order_id)
        for order_id, outcomes in sorted(facts.decided_twice.items())
    ]


async def _audit(
    settings: Settings, urls: list[str], timeout: float, answered: set[str], out: TextIO
) -> int:
    began = time.monotonic()
    db = Database(settings.mysql_url, size=2)
    try:
        async with pipeline_of(settings) as pipeline:
            pipeline.command_facts.acknowledged |= answered
            waited = await wait_until_quiet(db, pipeline, timeout)
            print(f"audit: quiet after {waited:.1f}s", file=out)
            listed = await db.run(_product_ids)
            stock = await remaining_stock(settings, urls, listed)
            events, commands = pipeline.event_facts, pipeline.command_facts
            violations = await check_database(
                db,
                commands.acknowledged,
                stock.remaining,
                events.arrivals.values(),
                events.stock_returns(commands.restocks),
            )
            violations += decided_twice(events)
            counts = await db.run(summary_counts)
    finally:
        db.close()
    for violation in violations:
        print(violation, file=out)
    print(
        f"audit: {len(violations)} violation(s); {counts['products']} products,"
        f" {counts['orders']} orders ({len(commands.acknowledged)} acknowledged),"
        f" {counts['units']} units checked in {time.monotonic() - began:.1f}s;"
        f" {stock.describe()}",
        file=out,
    )
    return VIOLATED if violations else CLEAN


def _product_ids(cur: Cursor) -> set[int]:
    cur.execute("SELECT product_id FROM products")
    return {int(r["product_id"]) for r in cur.fetchall()}


async def run_audit(
    settings: Settings,
    worker_urls: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    acknowledged: Iterable[str] = (),
    out: TextIO | None = None,
) -> int:
    """The audit; 0 clean, 1 violations, 2 not quiet or unreachable. Prints to ``out``.

    ``acknowledged`` adds order ids the API acknowledged as its clients saw them
    (202, 201, or 409 with an order id) to those found in ``stock-commands``: an
    acknowledgement for an order that never reached Kafka shows up only so.
    """
    out = out or sys.stdout
    urls = default_worker_urls(settings) if worker_urls is None else worker_urls
    try:
        return await _audit(settings, urls, timeout, set(acknowledged), out)
    except NotQuiet as exc:
        print(f"audit: {exc}", file=out)
    except (KafkaError, pymysql.MySQLError, OSError) as exc:
        print(f"audit: cannot read the system ({type(exc).__name__}: {exc})", file=out)
    return NOT_QUIET


def add_audit_parser(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="check every invariant; exit 1 on a violation")
    audit.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        help="seconds to wait for the system to become quiet (exit 2 if it does not)",
    )
    audit.add_argument(
        "--acknowledged",
        type=argparse.FileType("r"),
        default=None,
        help="a file of order ids clients were acknowledged, one a line (checked too)",
    )
    audit.add_argument(
        "--worker-url",
        dest="worker_urls",
        action="append",
        default=None,
        help="a worker's web URL for GET /stock/ (repeat; default: FLASHSALE_WORKERS on 6066..)",
    )


def run_audit_command(settings: Settings, args: argparse.Namespace) -> int:
    answered: list[str] = []
    if args.acknowledged is not None:
        with args.acknowledged as lines:
            answered = [line.strip() for line in lines if line.strip()]
    return asyncio.run(run_audit(settings, args.worker_urls, args.timeout, answered))
