"""The versioned schema on the real MariaDB: idempotent, complete, usable through storage.mysql."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from storage.migrations import apply_migrations, migration_files
from storage.mysql import Cursor, Database, MySQLConfig, connect
from streams.settings import Settings

pytestmark = pytest.mark.integration

# The columns other programs read (the contract's "MySQL" section).
CONTRACT_COLUMNS = {
    "products": {
        "product_id",
        "name",
        "price",
        "sale_price",
        "stock",
        "per_user_limit",
        "sale_starts_at",
        "sale_ends_at",
    },
    "orders": {
        "order_id",
        "member_id",
        "product_id",
        "qty",
        "amount",
        "status",
        "reason",
        "created_at",
        "updated_at",
    },
    "payments": {"payment_id", "order_id", "kind", "status", "amount", "created_at"},
    "members": {"member_id", "email", "name", "role", "password_hash", "token_version"},
}


def _schema(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's columns with their types, as information_schema describes them."""
    config = MySQLConfig.from_url(url)
    conn = connect(config)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name AS t, column_name AS c, column_type AS ty, is_nullable AS n"
                " FROM information_schema.columns WHERE table_schema = %s"
                " ORDER BY table_name, ordinal_position",
                (config.database,),
            )
            rows = cur.fetchall()
    finally:
        conn.close()
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        tables.setdefault(row["t"], []).append((row["c"], row["ty"], row["n"]))
    return tables


@pytest.fixture
def empty_database(fresh_settings: Settings) -> Iterator[str]:
    """The URL of a database of its own with no table in it; dropped after."""
    config = MySQLConfig.from_url(fresh_settings.mysql_url)
    name = f"{config.database}_e{uuid.uuid4().hex[:6]}"
    conn = connect(config.with_database(""))
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield fresh_settings.mysql_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def test_applying_the_schema_twice_is_a_no_op(empty_database: str) -> None:
    versions = [version for version, _, _ in migration_files()]
    assert apply_migrations(empty_database) == versions
    before = _schema(empty_database)
    assert apply_migrations(empty_database) == []
    assert _schema(empty_database) == before


def test_concurrent_starts_apply_each_version_once(empty_database: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def start_up() -> None:
        try:
            results.append(apply_migrations(empty_database))
        except BaseException as exc:  # reported below, with the thread's failure
            errors.append(exc)

    threads = [threading.Thread(target=start_up) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    applied = sorted(version for result in results for version in result)
    assert applied == [version for version, _, _ in migration_files()]


def test_the_contract_columns_exist(fresh_settings: Settings) -> None:
    schema = _schema(fresh_settings.mysql_url)
    for table, columns in CONTRACT_COLUMNS.items():
        assert table in schema
        assert columns <= {column for column, _, _ in schema[table]}, table


async def test_a_row_is_written_and_read_back(fresh_settings: Settings) -> None:
    db = Database(fresh_settings.mysql_url)

    def write(cur: Cursor) -> int:
        cur.execute(
            "INSERT INTO products (name, price, sale_price, stock, per_user_limit)"
            " VALUES (%s, %s, %s, %s, %s)",
            ("Keyboard", 120_000, 99_000, 50, 2),
        )
        return int(cur.lastrowid)

    def read(product_id: int) -> Any:
        def work(cur: Cursor) -> Any:
            cur.execute(
                "SELECT name, price, sale_price, stock, per_user_limit FROM products"
                " WHERE product_id = %s",
                (product_id,),
            )
            return cur.fetchone()

        return work

    try:
        product_id = await db.run(write)
        assert await db.run(read(product_id)) == {
            "name": "Keyboard",
            "price": 120_000,
            "sale_price": 99_000,
            "stock": 50,
            "per_user_limit": 2,
        }
    finally:
        db.close()


async def test_a_failed_unit_of_work_is_rolled_back(fresh_settings: Settings) -> None:
    db = Database(fresh_settings.mysql_url)

    def write_then_fail(cur: Cursor) -> None:
        cur.execute(
            "INSERT INTO products (name, price, sale_price, stock) VALUES ('Ghost', 1, 1, 1)"
        )
        raise RuntimeError("the caller gave up half-way")

    def count(cur: Cursor) -> int:
        cur.execute("SELECT COUNT(*) AS n FROM products WHERE name = 'Ghost'")
        row = cur.fetchone()
        assert row is not None
        return int(row["n"])

    try:
        with pytest.raises(RuntimeError):
            await db.run(write_then_fail)
        assert await db.run(count) == 0
        assert await db.ping() is True
    finally:
        db.close()


async def test_an_unreachable_database_is_reported_not_raised() -> None:
    db = Database("mysql://flashsale:flashsale@127.0.0.1:1/flashsale")
    try:
        assert await db.ping() is False
        with pytest.raises(pymysql.MySQLError):
            await db.run(lambda cur: cur.execute("SELECT 1"))
    finally:
        db.close()
