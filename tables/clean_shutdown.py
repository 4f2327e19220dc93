"""Trust a worker's local table store only if the worker stopped cleanly.

The RocksDB store writes a key at once, its changelog record later. After
``kill -9`` the local store may hold writes the changelog never got, and a
restore that replays the changelog's shorter tail over it yields a state that
never existed. So, as Kafka Streams does under exactly-once: a clean stop (every
changelog record acknowledged) leaves a marker; a start without the marker
deletes the table's local files first, and the table comes back from the
changelog alone.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def marker_path(tabledir: Path, table_name: str) -> Path:
    return tabledir / f"{table_name}.clean-shutdown"


def local_files(tabledir: Path, table_name: str) -> list[Path]:
    """The table's RocksDB partition databases (faust: ``{name}-{partition}.db``)."""
    return sorted(tabledir.glob(f"{table_name}-*.db"))


def forget_unclean_store(tabledir: Path, table_name: str) -> bool:
    """At start: keep the local files after a clean stop, else delete them.

    Returns True when files were deleted. The marker is consumed either way, so a
    crash of this run leaves no marker behind.
    """
    marker = marker_path(tabledir, table_name)
    if marker.exists():
        marker.unlink()
        return False
    files = local_files(tabledir, table_name)
    for path in files:
        shutil.rmtree(path)
    if files:
        log.warning(
            "table %s: last run did not stop cleanly; restoring it from its changelog",
            table_name,
        )
    return bool(files)


def mark_clean(tabledir: Path, table_name: str) -> None:
    """After a stop where every changelog record was acknowledged."""
    tabledir.mkdir(parents=True, exist_ok=True)
    marker = marker_path(tabledir, table_name)
    with marker.open("w") as out:
        out.write("local store matches the changelog\n")
        out.flush()
        os.fsync(out.fileno())
