"""An outside analytics consumer: units sold and revenue per product per minute.

    .venv/bin/python -m analytics.sales_per_minute [--once] [--app-id flashsale]

Reads ``<app_id>.order-events`` from the start of the topic (its retention: 24 h),
counts each order's move to PAID or REFUNDED once (analytics/sales.py) and prints
one JSON line per (minute, product): ``minute``, ``product_id``, ``units_sold``,
``revenue``, ``units_refunded``, ``refunded`` (money in minor units). ``--once``
stops at the end the topic had when it started and prints every row; without it,
it follows the topic and prints the rows that changed every ``--every`` seconds.

It needs nothing of the app but the topic's JSON (schemas/order-events.schema.json).
It joins its own consumer group (default ``<app_id>-analytics-sales``) and commits
its position there, so Kafka's tools show its lag. It never uses the app's groups
(``<app_id>``, ``<app_id>-saga``, ``<app_id>-saga-events``): a member there would be
handed partitions, and the app's work on them, and stall the sale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from analytics.sales import SalesPerMinute

POLL_MS = 200


def app_groups(app_id: str) -> set[str]:
    """The consumer groups of the app's own workers (topology.md, "Workers and roles")."""
    return {app_id, f"{app_id}-saga", f"{app_id}-saga-events"}


class FromTheStart(ConsumerRebalanceListener):
    """The totals live in memory, so every run reads its partitions from the start."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if assigned:
            await self.consumer.seek_to_beginning(*assigned)


async def consume(args: argparse.Namespace, sales: SalesPerMinute) -> None:
    topic = f"{args.app_id}.order-events"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap, group_id=args.group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            sys.exit(f"no topic {topic} at {args.bootstrap}")
        consumer.subscribe([topic], listener=FromTheStart(consumer))
        ends: dict[TopicPartition, int] | None = None
        changed: set[tuple[str, int]] = set()
        loop = asyncio.get_running_loop()
        next_report = loop.time() + args.every
        while True:
            batches = await consumer.getmany(timeout_ms=POLL_MS)
            for records in batches.values():
                for record in records:
                    where = sales.add(json.loads(record.value))
                    if where is not None:
                        changed.add(where)
            if batches:
                await consumer.commit()
            if args.once and consumer.assignment():
                # The end the topic had once this consumer got its partitions.
                ends = ends or await consumer.end_offsets(list(consumer.assignment()))
                if all(await _positions(consumer, ends)):
                    return
            if not args.once and loop.time() >= next_report and changed:
                _print(sales.rows(changed))
                changed, next_report = set(), loop.time() + args.every
    finally:
        await consumer.stop()


async def _positions(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> list[bool]:
    return [await consumer.position(tp) >= end for tp, end in ends.items()]


def _print(rows: list[dict[str, object]]) -> None:
    sys.stdout.write("".join(json.dumps(row) + "\n" for row in rows))
    sys.stdout.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.sales_per_minute", description=__doc__.split("\n")[0]
    )
    env = os.environ.get
    parser.add_argument("--bootstrap", default=env("FLASHSALE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--app-id", default=env("FLASHSALE_APP_ID", "flashsale"))
    parser.add_argument("--group", help="its consumer group (default: <app-id>-analytics-sales)")
    parser.add_argument("--once", action="store_true", help="stop at the topic's current end")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between reports")
    args = parser.parse_args(argv)
    args.group = args.group or f"{args.app_id}-analytics-sales"
    if args.group in app_groups(args.app_id):
        parser.error(f"{args.group} is the app's own consumer group; choose another")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sales = SalesPerMinute()
    try:
        asyncio.run(consume(args, sales))
    except KafkaError as exc:
        print(f"sales_per_minute: Kafka at {args.bootstrap}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    if args.once:
        _print(sales.rows())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
