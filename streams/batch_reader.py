"""A consumer-group reader that hands each fetched batch of a topic to one coroutine.

For a topic whose reader keeps no table and needs no record of its own order
beyond each partition's (the saga's ``order-events``, agents/follow_order_events.py).
Faust delivers a record to an agent one event at a time (its conductor, an Event,
the stream's queue, the acks), and that per-record machinery cost the saga worker
about 88 µs an event, as much as the stock agent's whole decision, so the two
workers split the machine's two cores between them; aiokafka's ``getmany`` hands
over what one fetch brought as one list. Measured in ``bench.stock_throughput
--with-saga`` (bench/README.md, "The saga reads order-events in batches").

What it guarantees, in the order it does it:

- **At least once.** A batch's offsets are committed only after ``handle`` returned
  for it, and ``handle`` returns only once its work is done (written, or acknowledged
  by Kafka): a crash at any point replays from the last commit, and what reads here
  is idempotent. A ``handle`` that raises leaves nothing committed: the batch's
  partitions are sought back to its first records and it is handed over again.
- **A rebalance waits for the batch in hand**: the revoked partitions' listener
  takes the batch lock, so the batch is finished and committed before they go to
  another member. A commit the group refuses (its generation moved on) is logged:
  the next owner reads those records again.
- **Static membership** (KIP-345) for a named worker, as the Faust consumer of the
  same worker: killed and restarted within the session, it gets its partitions back
  at once.
- **Seen from outside**: ``readiness`` (agents/readiness.py) and the consumer lag
  (agents/worker_metrics.py) report every reader made in the process (``READERS``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from streams.fetching import QUIET_MAX_WAIT_MS, QUIET_MIN_BYTES, FetchSizing

log = logging.getLogger(__name__)

Handle = Callable[[list[Any]], Awaitable[None]]
# A handle that raised is tried again after this long (the same records), and a
# consumer that failed is made again after it.
RETRY_SECONDS = 1.0
# As the Faust workers (streams/app.py, broker_session_timeout).
SESSION_TIMEOUT_MS = 10_000


class BatchReader:
    """Reads ``topic`` in consumer group ``group``; ``handle`` gets each batch's values."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        group: str,
        handle: Handle,
        max_records: int,
        instance_id: str | None = None,
    ) -> None:
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.instance_id = instance_id
        self._handle = handle
        self._max_records = max_records
        self._batch = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        # The partitions of the last completed assignment; None before the first and
        # while a rebalance is under way.
        self.owned: set[int] | None = None
        # Next offset to read, by partition owned: as the group had it at the assignment,
        # then as this reader committed it.
        self.committed: dict[int, int] = {}
        READERS.append(self)

    @property
    def ready(self) -> bool:
        return self.owned is not None

    async def run(self) -> None:
        """Read until cancelled. A consumer that fails (Kafka away when it starts, an
        error aiokafka does not retry) is logged, stopped and made again after
        ``RETRY_SECONDS``; what it had not committed is read again."""
        while True:
            try:
                await self._read()
            except Exception:
                log.exception("%s: the reader failed; starting it again", self.topic)
                await asyncio.sleep(RETRY_SECONDS)

    async def _read(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=self.group,
            group_instance_id=self.instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=SESSION_TIMEOUT_MS,
            max_poll_records=self._max_records,
            fetch_max_wait_ms=QUIET_MAX_WAIT_MS,
            fetch_min_bytes=QUIET_MIN_BYTES,  # then by the rate of records
        )
        consumer.subscribe([self.topic], listener=_Rebalance(self))
        sizing = FetchSizing()
        await consumer.start()
        self._consumer = consumer
        try:
            while True:
                await self._learn_committed(consumer)
                batch = await consumer.getmany(timeout_ms=1000, max_records=self._max_records)
                sizing.handed_out(consumer, sum(len(records) for records in batch.values()))
                if batch:
                    async with self._batch:
                        await self._follow(consumer, batch)
        finally:
            self._consumer, self.owned = None, None
            await consumer.stop()

    async def _follow(
        self, consumer: AIOKafkaConsumer, batch: Mapping[TopicPartition, Any]
    ) -> None:
        values = [record.value for records in batch.values() for record in records]
        try:
            await self._handle(values)
        except Exception:
            log.exception(
                "%s: a batch of %d records failed; trying it again", self.topic, len(values)
            )
            for tp, records in batch.items():
                if tp in consumer.assignment():
                    consumer.seek(tp, records[0].offset)
            await asyncio.sleep(RETRY_SECONDS)
            return
        offsets = {tp: records[-1].offset + 1 for tp, records in batch.items()}
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            log.warning(
                "%s: offsets not committed, the next owner reads them again: %s", self.topic, exc
            )
            return
        self.committed.update({tp.partition: offset for tp, offset in offsets.items()})

    async def _learn_committed(self, consumer: AIOKafkaConsumer) -> None:
        # After an assignment: the group's committed offsets, for the lag (a request a
        # partition, once a rebalance). Where the group never committed, reading starts
        # at the partition's first offset ("earliest"): all of it is yet to be done.
        for partition in sorted((self.owned or set()) - self.committed.keys()):
            tp = TopicPartition(self.topic, partition)
            committed = await consumer.committed(tp)
            if committed is None:
                committed = (await consumer.beginning_offsets([tp]))[tp]
            self.committed.setdefault(partition, committed)

    def lags(self) -> list[tuple[str, int, int]]:
        """(topic, partition, end offset - committed offset) of each partition owned."""
        consumer = self._consumer
        if consumer is None or self.owned is None:
            return []
        lags = []
        for partition in sorted(self.owned):
            highwater = consumer.highwater(TopicPartition(self.topic, partition))
            committed = self.committed.get(partition)
            # Unknown until the partition's first fetch and first commit here.
            if highwater is not None and committed is not None:
                lags.append((self.topic, partition, max(highwater - committed, 0)))
        return lags


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, reader: BatchReader) -> None:
        self.reader = reader

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.reader.owned = None
        # The batch in hand is finished and committed before the partitions go.
        async with self.reader._batch:
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self.reader.committed = {}
        self.reader.owned = {tp.partition for tp in assigned}


# Every reader made in this process (a saga worker has one).
READERS: list[BatchReader] = []
