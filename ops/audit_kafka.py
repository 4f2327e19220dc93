"""What the audit learns from Kafka: acknowledged orders, arrivals, and consumer lag.

``TopicLog`` reads every partition of one topic from the beginning and, on each
``catch_up``, on to the end offsets of that moment, so waiting for quiet re-reads
nothing. ``CommandFacts`` keeps from ``stock-commands`` the order id of every
``ReserveOrder`` (an order the API acknowledged: it answers only after Kafka has
the command) and where each restock sits; ``EventFacts`` keeps from
``order-events`` each order's first decision and the places at which stock came
back (invariant 6). ``GroupLag`` is how far each topic's consumer group is behind.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from ops.audit_checks.first_come import Arrival, Place, arrivals_from_events
from streams.records import command_entries

DECISIONS = frozenset({"OrderReserved", "OrderRejected"})
# What every OrderEvent carries that the checks read; anything else is not one.
EVENT_FIELDS = ("event", "order_id", "product_id", "qty", "status", "command_offset")
FETCH_BYTES = 8 * 1024 * 1024


class TopicLog:
    """An incremental reader of one whole topic, outside any consumer group."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=FETCH_BYTES,
            fetch_max_bytes=4 * FETCH_BYTES,
        )
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self.consumer.start()
        numbers = self.consumer.partitions_for_topic(self.topic) or set()
        if not numbers:  # metadata for a topic this client has not asked about yet
            await self.consumer._client.force_metadata_update()
            numbers = self.consumer.partitions_for_topic(self.topic) or set()
        self.partitions = [TopicPartition(self.topic, p) for p in sorted(numbers)]
        self.consumer.assign(self.partitions)
        if self.partitions:
            await self.consumer.seek_to_beginning(*self.partitions)

    async def stop(self) -> None:
        await self.consumer.stop()

    async def catch_up(self, within: float = 120.0) -> list[Any]:
        """The records added since the last call, up to the end offsets of now."""
        ends = await self.consumer.end_offsets(self.partitions) if self.partitions else {}
        records: list[Any] = []
        behind = {tp for tp, end in ends.items() if await self.consumer.position(tp) < end}
        deadline = asyncio.get_running_loop().time() + within
        while behind:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{self.topic}: not read to its end within {within:g}s")
            batches = await self.consumer.getmany(*behind, timeout_ms=500, max_records=50_000)
            for tp, batch in batches.items():
                records.extend(r for r in batch if r.offset < ends[tp])
            behind = {tp for tp in behind if await self.consumer.position(tp) < ends[tp]}
        return records


def _decoded(value: bytes | None) -> dict[str, Any] | None:
    try:
        data = json.loads(value) if value is not None else None
    except ValueError:
        return None  # the stock agent skips such a record too
    return data if isinstance(data, dict) else None


class CommandFacts:
    """From ``stock-commands``: acknowledged order ids and restock places per product."""

    def __init__(self) -> None:
        self.acknowledged: set[str] = set()
        self.restocks: dict[int, set[Place]] = defaultdict(set)

    def add(self, records: Iterable[Any]) -> None:
        for record in records:
            value = record.value
            if b"ReserveOrder" not in value and b"RestockProduct" not in value:
                continue  # most commands are neither: skip decoding them
            data = _decoded(value)
            if data is None:
                continue
            for index, command in enumerate(command_entries(data)):
                if command.get("kind") == "ReserveOrder" and "order_id" in command:
                    self.acknowledged.add(str(command["order_id"]))
                elif command.get("kind") == "RestockProduct" and "product_id" in command:
                    self.restocks[int(command["product_id"])].add((record.offset, index))


class EventFacts:
    """From ``order-events``: each order's first decision, stock returns, and any order
    whose decisions disagree (decided twice)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, Arrival] = {}
        self.returns: dict[int, set[Place]] = defaultdict(set)
        self.decided_twice: dict[str, set[str]] = {}

    def add(self, records: Iterable[Any]) -> None:
        decoded = (_decoded(r.value) for r in records)
        events = [e for e in decoded if e is not None and all(k in e for k in EVENT_FIELDS)]
        arrivals, returns = arrivals_from_events(events)
        for pid, offsets in returns.items():
            self.returns[pid].update(offsets)
        for arrival in arrivals:
            self.arrivals.setdefault(arrival.order_id, arrival)
        for event in events:
            if event["event"] in DECISIONS:
                self._compare(event)

    def _compare(self, event: dict[str, Any]) -> None:
        first = self.arrivals[event["order_id"]]
        outcome = "RESERVED" if event["event"] == "OrderReserved" else str(event["reason"])
        if outcome != first.outcome:
            self.decided_twice.setdefault(first.order_id, {first.outcome}).add(outcome)

    def stock_returns(self, restocks: dict[int, set[Place]]) -> dict[int, list[Place]]:
        """Places at which a product's stock came back: releases and restocks."""
        products = set(self.returns) | set(restocks)
        return {p: sorted(self.returns.get(p, set()) | restocks.get(p, set())) for p in products}


class GroupLag:
    """How many messages of each topic its consumer group has not committed yet."""

    def __init__(self, bootstrap: str, groups: dict[str, str]) -> None:
        self.groups = groups  # the group that reads each topic
        self.topics = list(groups)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        self.partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()
        described = await self.admin.describe_topics(self.topics)
        self.partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]
        ]

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def measure(self) -> dict[str, int]:
        ends = await self.consumer.end_offsets(self.partitions)
        committed = {}
        for group in sorted(set(self.groups.values())):
            offsets = await self.admin.list_consumer_group_offsets(group)
            committed.update(
                {tp: o for tp, o in offsets.items() if self.groups.get(tp.topic) == group}
            )
        lag = dict.fromkeys(self.topics, 0)
        for tp, end in ends.items():
            done = committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
            lag[tp.topic] += max(0, end - done)
        return lag
