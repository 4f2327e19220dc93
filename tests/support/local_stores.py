"""A stopped worker's local stock store read back, and the committed changelog it must match.

The stock store writes RocksDB only with committed changelog transactions, each with
the offset it ends at (tables/stock_store.py ``store_committed``). So after any stop,
``kill -9`` included, each partition database must equal the committed changelog of
its partition folded up to that offset: nothing the changelog lacks, nothing missing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import rocksdict

from streams.topics import STOCK_TABLE

# Faust's key for a partition database's persisted offset (faust/stores/rocksdb.py).
OFFSET_KEY = b"__faust\0offset__"

LocalPartition = tuple[int | None, dict[bytes, bytes]]  # persisted offset, records


def read_local_store(datadir: Path) -> dict[int, LocalPartition]:
    """Every partition database of a worker's stock table (the worker must be stopped)."""
    stores: dict[int, LocalPartition] = {}
    for path in sorted(datadir.glob(f"v*/tables/{STOCK_TABLE}-*.db")):
        partition = int(path.name.removesuffix(".db").rsplit("-", 1)[1])
        db = rocksdict.Rdict(
            str(path),
            options=rocksdict.Options(raw_mode=True),
            access_type=rocksdict.AccessType.read_only(),
        )
        try:
            records = {bytes(key): bytes(value) for key, value in db.items()}
        finally:
            db.close()
        offset = records.pop(OFFSET_KEY, None)
        stores[partition] = (None if offset is None else int(offset), records)
    return stores


def committed_prefix(
    changelog: Iterable[Any], partition: int, offset: int | None
) -> dict[bytes, bytes]:
    """The table a restore of ``partition`` builds from committed records up to ``offset``."""
    table: dict[bytes, bytes] = {}
    if offset is None:
        return table
    for record in changelog:
        if record.partition != partition or record.offset > offset:
            continue
        if record.value is None:
            table.pop(record.key, None)
        else:
            table[record.key] = record.value
    return table
