"""tables/local_store.py: which local stores a starting worker keeps."""

from __future__ import annotations

from pathlib import Path

from tables.local_store import keep_committed_store, marker_path

TABLE = "key_to_stock_record"
CHANGELOG = "flashsale-key_to_stock_record-changelog"


def partition_db(tabledir: Path, partition: int) -> Path:
    path = tabledir / f"{TABLE}-{partition}.db"
    path.mkdir(parents=True)
    (path / "CURRENT").write_text("MANIFEST-000001\n")
    return path


def test_a_store_from_before_commit_ordered_writes_is_deleted_once(tmp_path: Path) -> None:
    old = [partition_db(tmp_path, 0), partition_db(tmp_path, 3)]
    (tmp_path / f"{TABLE}.clean-shutdown").write_text("old marker\n")
    assert keep_committed_store(tmp_path, TABLE, CHANGELOG) is True
    assert not any(path.exists() for path in old)
    assert not (tmp_path / f"{TABLE}.clean-shutdown").exists()
    assert marker_path(tmp_path, TABLE).exists()


def test_a_store_written_by_commit_is_kept_whatever_stopped_it(tmp_path: Path) -> None:
    keep_committed_store(
        tmp_path, TABLE, CHANGELOG
    )  # the first start of this version marks the folder
    kept = partition_db(tmp_path, 1)  # then a worker writes, and is killed
    assert keep_committed_store(tmp_path, TABLE, CHANGELOG) is False
    assert kept.exists() and marker_path(tmp_path, TABLE).exists()


def test_a_first_start_on_an_empty_folder_deletes_nothing(tmp_path: Path) -> None:
    tabledir = tmp_path / "v1" / "tables"
    assert keep_committed_store(tabledir, TABLE, CHANGELOG) is False
    assert marker_path(tabledir, TABLE).exists()


def test_a_store_written_from_another_changelog_is_deleted(tmp_path: Path) -> None:
    keep_committed_store(tmp_path, TABLE, "bench1-key_to_stock_record-changelog")
    other = partition_db(tmp_path, 2)  # the folder reused under another app id
    assert keep_committed_store(tmp_path, TABLE, CHANGELOG) is True
    assert not other.exists()
    assert CHANGELOG in marker_path(tmp_path, TABLE).read_text()
    assert keep_committed_store(tmp_path, TABLE, CHANGELOG) is False  # and kept from now on


def test_a_marker_that_names_no_changelog_deletes_its_store_once(tmp_path: Path) -> None:
    marker_path(tmp_path, TABLE).write_text(
        "the local store holds committed changelog transactions only\n"
    )
    unnamed = partition_db(tmp_path, 0)
    assert keep_committed_store(tmp_path, TABLE, CHANGELOG) is True
    assert not unnamed.exists()
    kept = partition_db(tmp_path, 1)
    assert keep_committed_store(tmp_path, TABLE, CHANGELOG) is False
    assert kept.exists()
