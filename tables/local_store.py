"""Keep a worker's local table store across any stop, `kill -9` included.

The stock store writes RocksDB only with committed changelog transactions, each
as one write batch that also moves Faust's persisted offset to where the
transaction ends (tables/stock_store.py ``store_committed``). So whatever stops
the worker, its store holds a prefix of the committed changelog, up to the
offset it names, and a restart restores only the changelog after that offset:
a restore applies full values in log order, so applying a tail the store
partly has already yields the changelog's state again (topology.md, "Why a
crash cannot oversell").

The ``committed-prefix`` marker next to the store names the changelog topic it was
written from. A store without it is deleted once, before any partition opens, and
restored from the changelog alone; the marker is written then, and stays. That
covers two kinds of store a restore must not start from: one written before the
rule above (each key at once, its changelog record later: it may hold writes the
changelog never got), and one written from another changelog (the data folder
reused under another app id, or a marker from before it named its changelog).
A store from an earlier life of the same changelog (the topic made again, Kafka's
data wiped) names the same topic; it holds offsets past the changelog's end, and
the recovery deletes it there (streams/faust_fixes.py, fix 8).
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


def marker_text(changelog: str) -> str:
    return f"the local store holds committed changelog transactions only\nchangelog: {changelog}\n"


def keep_committed_store(tabledir: Path, table_name: str, changelog: str) -> bool:
    """At start: keep a store written by commit from ``changelog``, else delete it and
    mark the folder.

    Returns True when files were deleted.
    """
    marker = marker_path(tabledir, table_name)
    if marker.exists() and marker.read_text() == marker_text(changelog):
        return False
    files = local_files(tabledir, table_name)
    for path in files:
        shutil.rmtree(path)
    if files and marker.exists():
        log.warning(
            "table %s: local store not written from the changelog %s; restoring it from"
            " the changelog",
            table_name,
            changelog,
        )
    elif files:
        log.warning(
            "table %s: local store written before commit-ordered writes; restoring it from"
            " its changelog",
            table_name,
        )
    (tabledir / f"{table_name}{_OLD_MARKER_SUFFIX}").unlink(missing_ok=True)
    tabledir.mkdir(parents=True, exist_ok=True)
    with marker.open("w") as out:
        out.write(marker_text(changelog))
        out.flush()
        os.fsync(out.fileno())
    return bool(files)
