"""The stock table as the stock agent uses it: reads, writes and the outcome events.

Faust's own table write (``table[key] = value``) costs about 200 µs a key: the
store put, then a changelog record through Faust's buffered send (a
FutureMessage, sensors, and a RocksDB write of the persisted offset for every
record). The stock agent writes two to three keys a decision, so that was most
of its time. Here one record's writes cost a store put and one aiokafka
``send`` each, the persisted offset is written once a record, and the events
are sent the same way, so the per-key cost is that of Kafka's own client.
Reads go to the partition's RocksDB database; values are JSON through orjson,
both ways (the standard library's codec was a quarter of the agent's time).

What must stay true (topology.md, "Why a crash cannot oversell"):

- **Order.** Every changelog write of the table goes through this module, in
  the order given, to the partition of the record being decided, on that
  partition's transactional producer (tables/stock_transactions.py), whose open
  transaction is committed before Faust commits offsets: aiokafka keeps one
  request in flight per partition, so the changelog partition holds a prefix of
  what was sent, and a restore reads whole committed transactions. Nothing else
  writes the table. The events go on Faust's producer (``app.producer``), which
  Faust flushes before it commits offsets.
- **Same bytes as Faust's.** Keys and values are JSON, as Faust's table codecs
  write them, and the store gets the very bytes the changelog gets, so a restore
  (Faust's ``apply_changelog_batch``, which puts the changelog's bytes) rebuilds
  exactly what was written.
- **No silent loss.** A record Kafka refuses for good ends the process before any
  commit can skip it (``stop_without_commit``), as ``FailStopOnLostWrite`` does
  for Faust's own sends.

It reaches below Faust's public API in two places, checked against the pinned
versions by ``streams.faust_fixes.apply`` at start-up (the worker refuses to
start on others): the RocksDB store's per-partition databases (faust/stores/
rocksdb.py ``_db_for_partition``, rocksdict in raw mode), and the
aiokafka producer inside Faust's (faust/transport/drivers/aiokafka.py
``Producer._ensure_producer``). With the memory store (agent tests) values go
through the store's public mapping instead.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import rocksdict
from faust.types import TP

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
        # tests, with the memory store, send on Faust's producer.
        self.transactions = transactions if self._open_db is not None else None

    def read(self, partition: int, key: str) -> JsonObject | None:
        """The value under ``key`` in this partition's store, or None."""
        if self._open_db is None:
            value: JsonObject | None = self._store.get(key)
            return value
        raw = self._open_db(partition).get(encode(key))
        return None if raw is None else orjson.loads(raw)

    def store_puts(self, partition: int, encoded: Sequence[tuple[bytes, bytes]]) -> None:
        """Put encoded records in this partition's store, as one RocksDB write."""
        open_db = self._open_db
        if open_db is None:  # the memory store keeps decoded values
            for key, value in encoded:
                self._store[orjson.loads(key)] = orjson.loads(value)
            return
        batch = rocksdict.WriteBatch(raw_mode=True)
        for key, value in encoded:
            batch.put(key, value)
        # Faust's key index (which partition holds a key) is only a cache for reads
        # outside an event; left alone, such a read looks in each partition.
        open_db(partition).write(batch)

    async def send(self, topic: str, key: bytes, value: bytes, partition: int) -> Any:
        """Queue one record on Faust's producer; the future of its delivery."""
        producer = self.table.app.producer._ensure_producer()
        future = await producer.send(topic, value, key=key, partition=partition)
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
        self.store_puts(partition, encoded)
        last = None
        if self.transactions is not None:
            records = [(changelog, key, value) for key, value in encoded]
            sent = await self.transactions.send(partition, records)
            last = sent[-1] if sent else None
        else:
            for key_bytes, value_bytes in encoded:
                last = await self.send(changelog, key_bytes, value_bytes, partition)
        if last is not None:
            last.add_done_callback(self._persisted(TP(changelog, partition)))
        for key_bytes, event in events:
            await self.send(self.events_topic, key_bytes, encode(event), partition)

    def _persisted(self, tp: TP) -> Callable[[Any], None]:
        # Where a warm restart (after a clean stop) resumes reading the changelog;
        # Faust writes it for every changelog record, once a record is enough.
        def remember(future: Any) -> None:
            set_offset = getattr(self._store, "set_persisted_offset", None)
            if set_offset is not None and not future.cancelled() and future.exception() is None:
                set_offset(tp, future.result().offset)

        return remember
