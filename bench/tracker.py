"""What the pipeline did, read live from this run's topics (not from the API's answers).

A background consumer reads ``stock-commands`` (when each order reached Kafka)
and ``order-events`` (each order's first decision, RESERVED or REJECTED, and its
latest status) from the beginning. Times are the records' Kafka timestamps (set
by the API's and the worker's producers, in ms): time-to-decision is the
decision event's time minus the command's, the pipeline's own latency without
the client's network and queueing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.waiting import poll_until
from streams.records import command_entries
from streams.settings import Settings
from streams.statuses import REJECTED, RESERVED, STATUS_RANK
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS

DECISIONS = (RESERVED, REJECTED)


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
    _task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._consume(), name="bench-tracker")

    async def wait_ready(self, within: float = 60.0) -> None:
        """Wait until the consumer reads; raise if it failed or took longer than ``within``."""
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
        """Poll ``condition`` until it holds or ``within`` seconds pass; whether it held."""
        return await poll_until(condition, within)

    async def _consume(self) -> None:
        commands, events = STOCK_COMMANDS.name(self.settings), ORDER_EVENTS.name(self.settings)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
        )
        await consumer.start()
        try:
            # This run created its topics with settings.partitions partitions each.
            count = self.settings.partitions
            partitions = [TopicPartition(t, n) for t in (commands, events) for n in range(count)]
            consumer.assign(partitions)
            if self.from_end:
                await consumer.seek_to_end(*partitions)
                for tp in partitions:  # resolve now, so nothing after "ready" is skipped
                    await consumer.position(tp)
            else:
                await consumer.seek_to_beginning(*partitions)
            self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=5000)
                for tp, records in batches.items():
                    handle = self._command if tp.topic == commands else self._event
                    for record in records:
                        if record.value is not None:
                            handle(json.loads(record.value), record.timestamp / 1000)
        finally:
            await consumer.stop()

    def _command(self, value: dict[str, Any], at: float) -> None:
        for command in command_entries(value):  # a bare command, or a CommandBatch's
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
