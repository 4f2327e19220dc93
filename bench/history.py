"""A long order history, written straight to ``stock-commands`` (not through the API).

The recovery scenario needs a million decided orders behind the worker before
it kills it; sending them through HTTP would only measure the intake again.
Each is a real ``ReserveOrder`` with a long hold, so nothing expires meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.records import ReserveOrder
from streams.settings import Settings
from streams.topics import STOCK_COMMANDS, product_message_key

HOLD_SECONDS = 7 * 24 * 3600
BATCH = 5000


def history_order(i: int, member_ids: list[int], product_ids: list[int]) -> ReserveOrder:
    """The ``i``-th order of the history: members and products taken in turn."""
    return ReserveOrder(
        product_id=product_ids[i % len(product_ids)],
        order_id=str(uuid.uuid4()),
        member_id=member_ids[i % len(member_ids)],
        qty=1,
        amount=5_000,
        hold_seconds=HOLD_SECONDS,
        at=time.time(),
    )


async def write_history(
    settings: Settings,
    count: int,
    member_ids: list[int],
    product_ids: list[int],
    on_sent: Callable[[int], None] | None = None,
) -> None:
    """Produce ``count`` orders (acks=all), ``BATCH`` at a time; ``on_sent`` after each batch."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    topic = STOCK_COMMANDS.name(settings)
    try:
        for start in range(0, count, BATCH):
            futures = []
            for i in range(start, min(count, start + BATCH)):
                order = history_order(i, member_ids, product_ids)
                key = product_message_key(order.product_id)
                futures.append(await producer.send(topic, order.dumps(), key))
            await asyncio.gather(*futures)
            if on_sent is not None:
                on_sent(min(count, start + BATCH))
    finally:
        await producer.stop()


class OffsetWatcher:
    """Keeps the total end offset of some topics current, polling twice a second."""

    def __init__(self, settings: Settings, topics: list[str]) -> None:
        self.settings, self.topics = settings, topics
        self.totals = dict.fromkeys(topics, 0)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> OffsetWatcher:
        self._task = asyncio.create_task(self._run(), name="bench-offsets")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.kafka_bootstrap, group_id=None)
        await consumer.start()
        try:
            count = self.settings.partitions  # this run created its topics so
            partitions = {t: [TopicPartition(t, n) for n in range(count)] for t in self.topics}
            while True:
                for topic, tps in partitions.items():
                    self.totals[topic] = sum((await consumer.end_offsets(tps)).values())
                await asyncio.sleep(0.5)
        finally:
            await consumer.stop()
