"""Queue a record on an aiokafka producer without ``send()``'s per-record preamble.

``AIOKafkaProducer.send`` waits for the topic's metadata, checks the transaction,
serializes and picks the partition for every record, and only then appends it to
the accumulator's batch of its partition. The stock worker sends 2.35 records a
decided order, whose partition and bytes it already has; in py-spy that preamble
(the metadata lookup alone builds a set of the topic's partitions every time) was
about 5 % of the worker's CPU. So the first record a queue sends to each partition
takes the whole path (the metadata is then known and the partition checked), and
the rest go straight to the accumulator: the same batches, the same delivery
future for each record, the same order. The changelog's writes make a queue for
each record's writes (its first goes by ``send()``, which also checks that the
transaction is open); the events share one queue per producer.

What ``send()`` also checks is kept where it matters: a transactional producer's
sends are made only inside the transaction tables/stock_transactions.py began,
and a producer whose sender failed for good (fenced) refuses the record with that
error, raised by the accumulator itself.

Reaches below aiokafka's public API (``_message_accumulator.add_message``,
``_request_timeout_ms``), read against aiokafka 0.14.0: the workers refuse to start
on another version (streams/faust_fixes.py, ``EXPECTED_VERSIONS``), and
tests/unit/test_record_queue.py checks the names.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition


class RecordQueue:
    """One producer's records, by known partition, into its accumulator."""

    def __init__(self, producer: Any) -> None:
        self.producer = producer
        self._known: dict[tuple[str, int], TopicPartition] = {}

    async def queue(
        self, topic: str, partition: int, key: bytes, value: bytes
    ) -> asyncio.Future[Any]:
        """The record's delivery future, as ``producer.send`` returns it."""
        tp = self._known.get((topic, partition))
        if tp is None:
            future: asyncio.Future[Any] = await self.producer.send(
                topic, value, key=key, partition=partition
            )
            self._known[(topic, partition)] = TopicPartition(topic, partition)
            return future
        producer = self.producer
        queued: asyncio.Future[Any] = await producer._message_accumulator.add_message(
            tp, key, value, producer._request_timeout_ms / 1000
        )
        return queued
