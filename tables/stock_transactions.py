"""The stock table's changelog written in Kafka transactions: a zombie's writes fenced.

A stock worker frozen past its session timeout (a zombie) is taken out of the
group and its partitions go to another worker, which restores their table from
the changelog and decides on. When the zombie wakes it still holds records it
had fetched, and its writes would land in the changelog after the new owner's:
the log would end with an older state than the live one, and the next restore
would bring it back (seen: units sold twice). The group refuses the zombie's
offset commits, but nothing in Kafka refuses its writes, except a transaction.

So each ``stock-commands`` partition's changelog records go through a
transactional producer of its own, with the transactional id
``<app id>-stock-<partition>``. Whoever is assigned the partition starts that
producer (Faust's ``on_partitions_assigned``, so before its first decision):
``init_transactions`` bumps the id's epoch, which aborts any transaction the
previous owner left open and refuses everything that owner's producer sends or
commits after that (``ProducerFenced``). Every worker consumer reads
``read_committed`` (streams/faust_fixes.py fix 7), so a restore never applies an
aborted write.

A partition's transaction holds the changelog records of the records decided
since it began. It is committed before Faust's producer flush (which Faust's
offset commit waits for: faust_fixes ``before_flush``, so no offset is committed
past a write still in an open transaction), when it is ``max_age`` old, when its
partition is revoked and when the worker stops.

A fenced producer, or any error of a transactional send or commit, ends the process
at once without a commit (``stop_without_commit``, exit 70), as a lost write does:
what it decided since its last committed transaction is aborted, its offsets stay
uncommitted, and its next start restores the table from the changelog. That holds
also where no other worker took over (a transaction the broker aborted after
``transaction_timeout_ms``), where carrying on would let Faust commit offsets past
writes that are gone.

Until its transaction commits, a record stays out of the partition's local store:
the transaction holds it (``held``, the latest value of each key it wrote; the
stock store reads there first), and the commit hands the whole transaction to
``on_committed``, which writes it to the store with the changelog offset it ends
at. So the local store only ever holds committed transactions, a prefix of the
changelog, and is kept after ``kill -9`` (tables/local_store.py).

Only the changelog is transactional. The outcome events stay on Faust's producer:
a decision is a function of the table and the command (decided with the command's
own time), so the events a zombie or an aborted transaction sent are the bytes the
next owner sends again for the same commands, which consumers already take (at
least once, deduplicated by order and status).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import IllegalOperation, InvalidProducerEpoch, ProducerFenced

from streams.faust_fixes import sender_failure
from tables.record_queue import RecordQueue

log = logging.getLogger(__name__)

# How long a partition's transaction may stay open when Faust does not commit
# (nothing acknowledged): far below the broker's transaction timeout (60 s).
MAX_AGE_SECONDS = 1.0
# By then every changelog record sent is committed (the ticker looks every half age).
COMMITTED_WITHIN_SECONDS = 3 * MAX_AGE_SECONDS
# A second of a partition's changelog records fits one batch (Kafka's limit is 1 MB).
BATCH_BYTES = 512 * 1024


# What the broker answers a producer whose transactional id a newer owner has taken.
FENCED_ERRORS = (ProducerFenced, InvalidProducerEpoch)
FENCED_LOG = "this worker's changelog producer is fenced: another worker owns its partitions"


def transactional_id(app_id: str, partition: int) -> str:
    return f"{app_id}-stock-{partition}"


# What a commit hands on: the partition, the latest value of each key its transaction
# wrote, and the changelog offset of the transaction's last record.
OnCommitted = Callable[[int, Mapping[bytes, bytes], int], None]


_NOTHING: Mapping[bytes, bytes] = {}


class PartitionTransactions:
    """The transactional producers of one worker's ``stock-commands`` partitions."""

    def __init__(
        self,
        bootstrap: str,
        app_id: str,
        on_failure: Callable[[BaseException], None],
        max_age: float = MAX_AGE_SECONDS,
        producer_factory: Callable[..., Any] = AIOKafkaProducer,
    ) -> None:
        self.bootstrap = bootstrap
        self.app_id = app_id
        self.on_failure = on_failure
        self.max_age = max_age
        self.producer_factory = producer_factory
        self.producers: dict[int, Any] = {}
        self.locks: dict[int, asyncio.Lock] = {}
        self.opened: dict[int, float] = {}  # partition -> monotonic start of its transaction
        # The open transaction's records, the latest value a key (a key written twice in
        # a transaction is one put in the store), and the delivery of its last record.
        self.held: dict[int, dict[bytes, bytes]] = {}
        self.last_sent: dict[int, asyncio.Future[Any]] = {}
        self.on_committed: OnCommitted | None = None
        self._ticker: asyncio.Task[None] | None = None

    def _lock(self, partition: int) -> asyncio.Lock:
        return self.locks.setdefault(partition, asyncio.Lock())

    async def _producer(self, partition: int) -> Any:
        producer = self.producers.get(partition)
        if producer is None:
            producer = self.producer_factory(
                bootstrap_servers=self.bootstrap,
                transactional_id=transactional_id(self.app_id, partition),
                enable_idempotence=True,
                acks="all",
                # Nobody reads a changelog record before its transaction commits, so the
                # records leave with the commit (aiokafka flushes a transaction's batches
                # at once when it commits), in one produce request a partition a second.
                # Sent as they came (one request a partition each time its sender woke),
                # they cost 25 % of the decided orders a second end to end (bench/README.md).
                linger_ms=int(MAX_AGE_SECONDS * 1000),
                max_batch_size=BATCH_BYTES,
            )
            began = time.monotonic()
            await producer.start()  # init_transactions: fences the partition's last owner
            log.info(
                "stock partition %s: transactional producer ready in %.3fs (earlier owner fenced)",
                partition,
                time.monotonic() - began,
            )
            self.producers[partition] = producer
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())
        return producer

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, FENCED_ERRORS) or self._fenced_behind(exc):
            log.critical("%s (%r)", FENCED_LOG, exc)
        self.on_failure(exc)

    def _fenced_behind(self, exc: BaseException) -> bool:
        """A send refused as "not in transaction" because a producer's sender met the
        fencing first (streams/faust_fixes.py, fix 7)."""
        if not isinstance(exc, IllegalOperation):
            return False
        failures = (sender_failure(producer) for producer in self.producers.values())
        return any(isinstance(failure, FENCED_ERRORS) for failure in failures)

    async def _guarded(self, work: Any) -> Any:
        try:
            return await work
        except Exception as exc:
            self._failed(exc)
            raise

    async def assigned(self, partitions: set[int]) -> None:
        """Start (and so fence with) the assigned partitions' producers, together."""

        async def start(partition: int) -> None:
            async with self._lock(partition):
                await self._producer(partition)

        await self._guarded(asyncio.gather(*(start(p) for p in partitions)))

    async def revoked(self, partitions: set[int]) -> None:
        """Commit the revoked partitions' transactions, then stop their producers."""
        for partition in partitions:
            async with self._lock(partition):
                await self._commit_locked(partition)
                producer = self.producers.pop(partition, None)
            if producer is not None:
                await producer.stop()

    async def send(
        self, partition: int, records: Sequence[tuple[str, bytes, bytes]]
    ) -> list[asyncio.Future[Any]]:
        """Queue ``records`` (topic, key, value) in the partition's open transaction (one
        is begun if none is open); their delivery futures, in order."""
        async with self._lock(partition):
            return await self._guarded(self._send_locked(partition, records))

    async def _send_locked(
        self, partition: int, records: Sequence[tuple[str, bytes, bytes]]
    ) -> list[asyncio.Future[Any]]:
        producer = await self._producer(partition)
        if partition not in self.opened:
            await producer.begin_transaction()
            self.opened[partition] = time.monotonic()
        held = self.held.setdefault(partition, {})
        queue = RecordQueue(producer)  # the first record by send(), the rest queued
        futures = []
        for topic, key, value in records:
            held[key] = value
            future = await queue.queue(topic, partition, key, value)
            future.add_done_callback(self._delivered)
            futures.append(future)
        if futures:
            self.last_sent[partition] = futures[-1]
        return futures

    def holding(self, partition: int) -> Mapping[bytes, bytes]:
        """The records of the partition's open (or committing) transaction, by key."""
        return self.held.get(partition, _NOTHING)

    def _delivered(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self._failed(future.exception())  # type: ignore[arg-type]

    async def commit_all(self) -> None:
        """Commit every open transaction (each partition its own producer: in parallel).
        Every partition's lock is taken, so a commit already under way (the ticker's) is
        waited for: when this returns, everything sent before the call is committed."""
        await asyncio.gather(*(self._commit(p) for p in list(self.producers)))

    async def _commit_locked(self, partition: int) -> None:
        if self.opened.pop(partition, None) is None:
            return
        await self._guarded(self.producers[partition].commit_transaction())
        # Committed: every record of it is acknowledged, so the last one has its offset.
        last = self.last_sent.pop(partition, None)
        held = self.held.get(partition, _NOTHING)
        if last is not None and self.on_committed is not None:
            try:
                self.on_committed(partition, held, last.result().offset)
            except Exception as exc:
                self._failed(exc)
                raise
        # Only now: until the store has them, reads find them here (no await between).
        self.held.pop(partition, None)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.max_age / 2)
            now = time.monotonic()
            due = [p for p, began in list(self.opened.items()) if now - began >= self.max_age]
            if due:
                await asyncio.gather(*(self._commit(p) for p in due), return_exceptions=True)

    async def _commit(self, partition: int) -> None:
        async with self._lock(partition):
            await self._commit_locked(partition)

    async def stop(self) -> None:
        """Commit what is open and stop every producer (a clean stop)."""
        await self.commit_all()
        if self._ticker is not None:
            self._ticker.cancel()
        for producer in list(self.producers.values()):
            await producer.stop()
        self.producers.clear()
