"""``StockStore.records``: a prefix read of real RocksDB databases and the open transactions.

At start-up the worker publishes every product record; after a long sale its
databases hold millions of order and member records, so the read must seek to the
prefix and stop past it (tables/stock_store.py), and still see what an open
transaction holds and only the partitions this worker owns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import rocksdict

from tables.stock_store import StockStore, encode
from tables.stock_transactions import PartitionTransactions
from tests.support.local_stores import OFFSET_KEY


class StandInRocksStore:
    """The parts of Faust's RocksDB store that StockStore reads, over real databases."""

    offset_key = OFFSET_KEY

    def __init__(self, folder: Path, partitions: range, actives: set[int]) -> None:
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        self._dbs = {
            p: rocksdict.Rdict(str(folder / f"{p}.db"), options=options) for p in partitions
        }
        self.actives = actives

    def _db_for_partition(self, partition: int) -> Any:
        return self._dbs[partition]

    def _dbs_for_actives(self) -> Iterator[Any]:
        return (db for p, db in self._dbs.items() if p in self.actives)

    def keys(self) -> Iterator[str]:
        raise AssertionError("every key was read, not the prefix's")

    def close(self) -> None:
        for db in self._dbs.values():
            db.close()


def put(store: StandInRocksStore, partition: int, key: str, value: dict[str, Any]) -> None:
    store._dbs[partition][encode(key)] = encode(value)


def test_reads_only_the_prefixs_records_of_active_partitions_and_the_held(
    tmp_path: Path,
) -> None:
    rocks = StandInRocksStore(tmp_path, range(3), actives={0, 1})
    try:
        for partition in range(3):
            product = 10 + partition
            put(rocks, partition, f"p:{product}", {"product_id": product, "v": "stored"})
            for n in range(50):  # keys on both sides of the prefix in key order
                put(rocks, partition, f"o:{product}-{n}", {"order": n})
                put(rocks, partition, f"q:{product}-{n}", {"after": n})
                put(rocks, partition, f"m:{product}:{n}", {"member": n})
            rocks._dbs[partition][OFFSET_KEY] = b"99"
        table = SimpleNamespace(data=rocks)
        transactions = PartitionTransactions("kafka:9092", "shop", lambda exc: None, 60.0)
        store = StockStore(table, "events", transactions)
        transactions.held[1] = {
            encode("p:11"): encode({"product_id": 11, "v": "held"}),
            encode("p:21"): encode({"product_id": 21, "v": "held"}),
            encode("o:x"): encode({"order": "x"}),
        }

        found = sorted(store.records("p:"), key=lambda r: r["product_id"])

        assert found == [
            {"product_id": 10, "v": "stored"},
            {"product_id": 11, "v": "held"},  # the open transaction's value wins
            {"product_id": 21, "v": "held"},
        ]  # 12 is on a partition this worker does not own
    finally:
        rocks.close()
