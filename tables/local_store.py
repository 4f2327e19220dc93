"""Keep a worker's local table store across any stop, `kill -9` included.

The stock store writes RocksDB only with committed changelog transactions, each
as one write batch that also moves Faust's persisted offset to where the
transaction ends (tables/stock_store.py ``store_committed``). So whatever stops
the worker, its store holds a prefix of the committed changelog, up to the
offset it names, and a restart restores only the changelog after that offset:
a restore applies full values in log order, so applying a tail the store
partly has already yields the changelog's state again (topology.md, "Why a
crash cannot oversell").

A store written before that rule (each key at once, its changelog record later)
may hold writes the changelog never got. Such a store has no ``committed-prefix``
marker next to it: it is deleted once, before any partition opens, and restored
from the changelog alone; the marker is written then, and stays.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

# Left by the stores written before the rule above (a clean stop's marker).
_OLD_MARKER_SUFFIX = ".clean-shutdown"


def marker_path(tabledir: Path, table_name: str) -> Path:
    return tabledir / f"{table_name}.committed-prefix"


def local_files(tabledir: Path, table_name: str) -> list[Path]:
    """The table's RocksDB partition databases (faust: ``{name}-{partition}.db``)."""
    return sorted(tabledir.glob(f"{table_name}-*.db"))


def keep_committed_store(tabledir: Path, table_name: str) -> bool:
    """At start: keep a store written by commit, else delete it and mark the folder.

    Returns True when files were deleted.
    """
    marker = marker_path(tabledir, table_name)
    if marker.exists():
        return False
    files = local_files(tabledir, table_name)
    for path in files:
        shutil.rmtree(path)
    if files:
        log.warning(
            "table %s: local store written before commit-ordered writes; restoring it from"
            " its changelog",
            table_name,
        )
    (tabledir / f"{table_name}{_OLD_MARKER_SUFFIX}").unlink(missing_ok=True)
    tabledir.mkdir(parents=True, exist_ok=True)
    with marker.open("w") as out:
        out.write("the local store holds committed changelog transactions only\n")
        out.flush()
        os.fsync(out.fileno())
    return bool(files)
