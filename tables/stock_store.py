"""The stock table as the stock agent uses it: reads, writes and the outcome events.

Faust's own table write (``table[key] = value``) costs about 200 µs a key: the
store put, then a changelog record through Faust's buffered send (a
FutureMessage, sensors, and a RocksDB write of the persisted offset for every
record). The stock agent writes two to three keys a decision, so that was most
of its time. Here one record's writes cost a store put and one aiokafka
``send`` each, the persisted offset is written once a record, and the events
are sent the same way, so the per-key cost is that of Kafka's own client.
Reads look in the partition's open changelog transaction first, then in its
RocksDB database; values are JSON through orjson, both ways (the standard
library's codec was a quarter of the agent's time).

What must stay true (topology.md, "Why a crash cannot oversell"):

- **Order.** Every changelog write of the table goes through this module, in
  the order given, to the partition of the record being decided, on that
  partition's transactional producer (tables/stock_transactions.py), whose open
  transaction is committed before Faust commits offsets: aiokafka keeps one
  request in flight per partition, so the changelog partition holds a prefix of
  what was sent, and a restore reads whole committed transactions. Nothing else
  writes the table. The events go on Faust's producer (``app.producer``), which
  Faust flushes before it commits offsets.
- **The local store is a prefix of the changelog.** A record's writes reach
  RocksDB only once their transaction has committed, as one RocksDB write batch
  with the changelog offset the transaction ends at (Faust's persisted offset,
  where a restore resumes): after ``kill -9`` the store holds whole committed
  transactions up to that offset and nothing the changelog lacks, so it is kept,
  and a restart restores only the changelog's tail (tables/local_store.py).
  Until then the transaction holds them and reads find them there.
- **Same bytes as Faust's.** Keys and values are JSON, as Faust's table codecs
  write them, and the store gets the very bytes the changelog gets, so a restore
  (Faust's ``apply_changelog_batch``, which puts the changelog's bytes) rebuilds
  exactly what was written.
- **No silent loss.** A record Kafka refuses for good ends the process before any
  commit can skip it (``stop_without_commit``), as ``FailStopOnLostWrite`` does
  for Faust's own sends.

It reaches below Faust's public API in two places (and below aiokafka's in a third,
tables/record_queue.py), checked against the pinned
versions by ``streams.faust_fixes.apply`` at start-up (the worker refuses to
start on others): the RocksDB store's per-partition databases (faust/stores/
rocksdb.py ``_db_for_partition``, ``_dbs``, ``_dbs_for_actives`` and ``offset_key``,
rocksdict in raw mode), and the
aiokafka producer inside Faust's (faust/transport/drivers/aiokafka.py
``Producer._ensure_producer``). With the memory store (agent tests) values go
through the store's public mapping instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson
import rocksdict

from tables.record_queue import RecordQueue
from tables.stock_records import JsonObject
from tables.stock_transactions import PartitionTransactions

log = logging.getLogger(__name__)


def encode(value: Any) -> bytes:
    """JSON as the table's codecs read it back (faust 'json': UTF-8, any spacing)."""
    return orjson.dumps(value)


def stop_without_commit(exc: BaseException) -> None:
    """End the process at once: the offsets stay uncommitted and the commands replay.

    Used when Kafka refused a write for good; committing past it would lose it.
    """
    log.critical("a record was not stored (%r); stopping without commit", exc)
    logging.shutdown()
    os._exit(70)


def _fail_stop_on_error(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        stop_without_commit(future.exception())


class StockStore:
    """Reads the table for a decision; writes one decided record, then its events."""

    def __init__(
        self, table: Any, events_topic: str, transactions: PartitionTransactions | None = None
    ) -> None:
        self.table = table
        self.events_topic = events_topic
        # Faust builds a table's store once; which kind it is is decided here, once:
        # RocksDB in a worker, the memory store (no per-partition databases) in agent tests.
        self._store = table.data
        self._open_db: Callable[[int], Any] | None = getattr(self._store, "_db_for_partition", None)
        # The changelog's transactions (tables/stock_transactions.py): a worker's; agent
        # tests, with the memory store, send on Faust's producer and put at once.
        self.transactions = transactions if self._open_db is not None else None
        # Faust's producer's (tables/record_queue.py), made at the first event.
        self._queue: RecordQueue | None = None
        if self._open_db is not None:
            if transactions is None:
                raise ValueError("a RocksDB stock table is written only through transactions")
            transactions.on_committed = self.store_committed

    def read(self, partition: int, key: str) -> JsonObject | None:
        """The value under ``key`` in this partition's table, or None."""
        return self.read_many(partition, [key])[key]

    def read_many(self, partition: int, keys: Sequence[str]) -> dict[str, JsonObject | None]:
        """The value under each of ``keys`` in this partition's table, or None: the open
        transaction's first, then one RocksDB multi-get for the keys it does not hold (a
        record's reads, in one call instead of two or three a command)."""
        if self._open_db is None:
            return {key: self._store.get(key) for key in keys}
        held = self._held(partition)
        found: dict[str, JsonObject | None] = {}
        absent: list[str] = []
        for key in dict.fromkeys(keys):
            raw = held.get(encode(key))
            if raw is None:
                absent.append(key)
            else:
                found[key] = orjson.loads(raw)
        if absent:
            stored = self._open_db(partition)[[encode(key) for key in absent]]
            for key, raw in zip(absent, stored, strict=True):
                found[key] = None if raw is None else orjson.loads(raw)
        return found

    def read_any(self, key: str) -> JsonObject | None:
        """The value under ``key`` in whichever partition holds it (outside a decision)."""
        if self.transactions is not None:
            encoded = encode(key)
            for held in self.transactions.held.values():
                raw = held.get(encoded)
                if raw is not None:
                    return orjson.loads(raw)
        # Faust's store looks in each open partition database.
        value: JsonObject | None = self._store.get(key)
        return value

    def records(self, prefix: str) -> Iterator[JsonObject]:
        """Every value whose key starts with ``prefix``, in this worker's active partitions.

        RocksDB is read from the prefix on, in key order, and left at the first key past
        it: the order and member records (millions after a long sale) are never read, so
        the start-up's read of the products costs what the products do."""
        if self._open_db is None:
            return iter([self._store[k] for k in list(self._store.keys()) if k.startswith(prefix)])
        # A key is a JSON string: the prefix's encoding without its closing quote.
        raw_prefix = encode(prefix)[:-1]
        found: dict[bytes, bytes] = {}
        for database in self._store._dbs_for_actives():
            for raw_key, raw in database.items(from_key=raw_prefix):
                if not raw_key.startswith(raw_prefix):
                    break
                found[raw_key] = raw
        if self.transactions is not None:
            for held in list(self.transactions.held.values()):
                for raw_key, raw in list(held.items()):
                    if raw_key.startswith(raw_prefix):
                        found[raw_key] = raw
        return iter([orjson.loads(raw) for raw in found.values()])

    def _held(self, partition: int) -> Mapping[bytes, bytes]:
        return self.transactions.holding(partition) if self.transactions is not None else {}

    def store_committed(self, partition: int, held: Mapping[bytes, bytes], offset: int) -> None:
        """A committed transaction's records into the local store, with the changelog
        offset it ends at, as one RocksDB write: the store never holds part of one.

        A partition whose database Faust has already let go (its revoke runs before the
        offset commit that commits the transaction) keeps them in the changelog only:
        its store is then behind the changelog, never ahead, and the next assignment
        restores the difference."""
        database = self._store._dbs.get(partition)
        if database is None:
            return
        batch = rocksdict.WriteBatch(raw_mode=True)
        for key, value in held.items():
            batch.put(key, value)
        # Faust's persisted offset (where a restore of this partition resumes).
        batch.put(self._store.offset_key, str(offset).encode())
        database.write(batch)

    def _put_in_memory(self, encoded: Sequence[tuple[bytes, bytes]]) -> None:
        # The memory store (agent tests) keeps decoded values, put at once.
        for key, value in encoded:
            self._store[orjson.loads(key)] = orjson.loads(value)

    async def send(self, topic: str, key: bytes, value: bytes, partition: int) -> Any:
        """Queue one record on Faust's producer; the future of its delivery."""
        producer = self.table.app.producer._ensure_producer()
        if self._queue is None or self._queue.producer is not producer:
            self._queue = RecordQueue(producer)
        future = await self._queue.queue(topic, partition, key, value)
        future.add_done_callback(_fail_stop_on_error)
        return future

    async def write(
        self,
        partition: int,
        writes: Sequence[tuple[str, JsonObject]],
        events: Sequence[tuple[bytes, JsonObject]],
    ) -> None:
        changelog = self.table.changelog_topic.get_topic_name()
        encoded = [(encode(key), encode(value)) for key, value in writes]
        if self.transactions is not None:
            # Held by the open transaction until it commits (store_committed).
            await self.transactions.send(partition, [(changelog, k, v) for k, v in encoded])
        else:
            self._put_in_memory(encoded)
            for key_bytes, value_bytes in encoded:
                await self.send(changelog, key_bytes, value_bytes, partition)
        for key_bytes, event in events:
            await self.send(self.events_topic, key_bytes, encode(event), partition)
