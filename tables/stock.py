"""The stock table ``key_to_stock_record``: all state of the stock decisions.

Keyed like ``stock-commands`` (the partition of a write is the partition of the
command being processed), so it is co-partitioned with it; values are described
in tables/stock_records.py. Its changelog topic is
``<app_id>-key_to_stock_record-changelog`` (compacted). The store is the app's
default (RocksDB), written only with committed changelog transactions, so it is
kept across any stop, ``kill -9`` included (tables/local_store.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from streams.app import app, settings
from streams.topics import STOCK_TABLE, topic_config
from tables import local_store
from tables.stock_store import stop_without_commit

TABLE_NAME = STOCK_TABLE
# RocksDB's memtable size per partition database (Faust's default: 64 MB). What a
# kill -9 leaves unflushed is replayed from the write-ahead log when the database opens,
# before the worker decides: 250,000 orders' writes took 0.7-1.1 s a partition to open
# at 64 MB, 0.03 s at 4 MB, and were written no slower (topology.md, "Store").
STORE_WRITE_BUFFER_BYTES = 4 * 1024 * 1024


class StockTable(faust.Table):
    """A table whose local store is kept when it was written by commit from its changelog."""

    async def on_start(self) -> None:
        # Runs before the consumer subscribes, so before any partition db opens.
        local_store.keep_committed_store(
            Path(self.app.conf.tabledir), self.name, self.changelog_topic.get_topic_name()
        )
        await super().on_start()


class FailStopOnLostWrite(faust.Sensor):
    """Ends the process when Kafka refused a record for good.

    Faust logs such an error and goes on committing offsets, which would skip
    the lost write (a changelog record or an outcome event) forever. Dying like
    ``kill -9`` instead leaves the offsets uncommitted, and the commands are
    applied again by the next run.
    """

    def on_send_error(self, producer: Any, exc: BaseException, state: Any) -> None:
        stop_without_commit(exc)


key_to_stock_record = StockTable(
    app,
    name=TABLE_NAME,
    partitions=settings.partitions,
    key_type=str,  # keys and values are JSON in the changelog
    beacon=app.tables.beacon,
    # Should Faust declare the changelog itself (streams/admin.py creates it first).
    extra_topic_configs=topic_config(settings),
    help="stock state by key: p:{product}, o:{order}, m:{product}:{member}",
    options={"write_buffer_size": STORE_WRITE_BUFFER_BYTES},
)
app.tables.add(key_to_stock_record)
app.sensors.add(FailStopOnLostWrite())
