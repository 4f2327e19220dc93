"""What the pipeline did, read from this run's topics (not from the API's answers).

The bench must not compete with the system for the CPU it measures, so nothing
decodes the topics while a storm runs: ``catch_up`` reads ``stock-commands`` (when
each order reached Kafka) and ``order-events`` (each order's first decision,
RESERVED or REJECTED, and its latest status) once the load is over, up to the
topics' end offsets. Only scenarios whose buyers act on a decision while the
load runs (flash pays each reservation, checkout waits for expiries, recovery
times its probes) ``start`` a live follower, and it reads ``order-events`` alone.

Times are the records' Kafka timestamps (set by the API's and the worker's
producers, in ms): time-to-decision is the decision event's time minus the
command's, the pipeline's own latency without the client's network and
queueing. A ``stock-commands`` value may be a ``CommandBatch`` of several orders:
orders are counted through ``streams.records.command_entries``, never by records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from bench.waiting import poll_until
from streams.records import command_entries
from streams.settings import Settings
from streams.statuses import REJECTED, RESERVED, STATUS_RANK
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS

DECISIONS = (RESERVED, REJECTED)
CATCH_UP_PAUSE = 0.1
EMPTY_FETCHES = 3


@dataclass
class Decision:
    status: str
    reason: str | None
    at: float
    member_id: int
    product_id: int


@dataclass
class Tracker:
    """Orders seen in this run's topics; ``on_reserved`` is called for each reservation."""

    settings: Settings
    on_reserved: Callable[[str, Decision], None] | None = None
    # From the end: only what happens from now on (the recovery's probes).
    from_end: bool = False
    commanded_at: dict[str, float] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)
    last_event_at: float = 0.0
    # The next offset to read, per partition of both topics.
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def commands(self) -> str:
        return STOCK_COMMANDS.name(self.settings)

    @property
    def events(self) -> str:
        return ORDER_EVENTS.name(self.settings)

    def partitions(self, topic: str) -> list[TopicPartition]:
        # This run created its topics with settings.partitions partitions each.
        return [TopicPartition(topic, n) for n in range(self.settings.partitions)]

    async def mark_start(self) -> None:
        """Fix where reading begins: the topics' start, or their current end (``from_end``)."""
        if self.positions:
            return
        tps = self.partitions(self.commands) + self.partitions(self.events)
        if not self.from_end:
            self.positions = dict.fromkeys(tps, 0)
            return
        async with _consumer(self.settings) as consumer:
            self.positions = dict(await consumer.end_offsets(tps))

    def start(self) -> None:
        """Follow ``order-events`` live, for buyers who act on each decision as it comes."""
        self._task = asyncio.create_task(self._follow(), name="bench-tracker")

    async def wait_ready(self, within: float = 60.0) -> None:
        """Wait until the live follower reads; raise if it failed or took longer than ``within``."""
        assert self._task is not None, "start() first"
        ready = asyncio.ensure_future(self.ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=within, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if self._task in done:
                self._task.result()  # raises what stopped the consumer
            raise TimeoutError(f"the tracker was not reading after {within}s")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def catch_up(
        self, condition: Callable[[], bool] = lambda: True, within: float = 120.0
    ) -> bool:
        """Read the topics up to their end offsets, again until ``condition`` holds.

        Whether it held within ``within`` seconds. With a live follower running,
        only ``stock-commands`` is read here (the follower has the events)."""
        await self.mark_start()
        topics = [self.commands] if self._task is not None else [self.commands, self.events]
        tps = [tp for topic in topics for tp in self.partitions(topic)]
        deadline = time.monotonic() + within
        async with _consumer(self.settings) as consumer:
            consumer.assign(tps)
            while True:
                await self._read_to_end(consumer, tps)
                if condition():
                    return True
                if time.monotonic() > deadline:
                    return False
                await asyncio.sleep(CATCH_UP_PAUSE)

    @property
    def decided(self) -> int:
        return len(self.decisions)

    def outcomes(self) -> Counter[str]:
        """Orders by their latest status."""
        return Counter(self.latest.values())

    def decision_latencies(self) -> list[float]:
        return [
            d.at - self.commanded_at[order_id]
            for order_id, d in self.decisions.items()
            if order_id in self.commanded_at
        ]

    async def wait_for(self, condition: Callable[[], bool], within: float) -> bool:
        """Poll ``condition`` (fed by the live follower) until it holds or ``within`` passes."""
        return await poll_until(condition, within)

    async def _read_to_end(self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> None:
        ends = await consumer.end_offsets(tps)
        behind = [tp for tp in tps if self.positions[tp] < ends[tp]]
        for tp in behind:
            consumer.seek(tp, self.positions[tp])
        idle = 0
        # Offsets below the end that hold no record (none of these topics has any)
        # must not keep this loop going: a few empty fetches in a row end it.
        while behind and idle < EMPTY_FETCHES:
            batches = await consumer.getmany(*behind, timeout_ms=500, max_records=10_000)
            for tp, records in batches.items():
                self._handle(tp.topic, records)
                self.positions[tp] = records[-1].offset + 1
            idle = 0 if batches else idle + 1
            behind = [tp for tp in behind if self.positions[tp] < ends[tp]]

    async def _follow(self) -> None:
        await self.mark_start()
        tps = self.partitions(self.events)
        async with _consumer(self.settings) as consumer:
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, self.positions[tp])
            self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batches.items():
                    self._handle(tp.topic, records)
                    self.positions[tp] = records[-1].offset + 1

    def _handle(self, topic: str, records: Iterable[ConsumerRecord[bytes, bytes]]) -> None:
        handle = self._command if topic == self.commands else self._event
        for record in records:
            if record.value is not None:
                handle(json.loads(record.value), record.timestamp / 1000)

    def _command(self, value: dict[str, Any], at: float) -> None:
        for command in command_entries(value):
            if command.get("kind") == "ReserveOrder":
                self.commanded_at.setdefault(command["order_id"], at)

    def _event(self, event: dict[str, Any], at: float) -> None:
        order_id, status = event["order_id"], event["status"]
        self.last_event_at = max(self.last_event_at, at)
        known = self.latest.get(order_id)
        if known is None or STATUS_RANK.get(status, 0) >= STATUS_RANK.get(known, 0):
            self.latest[order_id] = status
        if status in DECISIONS and order_id not in self.decisions:
            decision = Decision(
                status,
                event.get("reason"),
                at,
                int(event["member_id"]),
                int(event["product_id"]),
            )
            self.decisions[order_id] = decision
            if status == RESERVED and self.on_reserved is not None:
                self.on_reserved(order_id, decision)


@contextlib.asynccontextmanager
async def _consumer(settings: Settings) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
