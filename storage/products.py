"""SQL of the ``products`` table: the catalog's truth (the cache lives in Redis).

Functions take a pymysql cursor and run inside the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.mysql import Cursor

Row = dict[str, Any]
COLUMNS = "product_id, name, price, sale_price, stock, per_user_limit, sale_starts_at, sale_ends_at"
MAX_STOCK = 2**32 - 1  # INT UNSIGNED


def insert(
    cur: Cursor,
    name: str,
    price: int,
    sale_price: int,
    stock: int,
    per_user_limit: int,
    sale_starts_at: datetime | None,
    sale_ends_at: datetime | None,
) -> int:
    """Insert a product (times as naive UTC); its new id."""
    cur.execute(
        "INSERT INTO products (name, price, sale_price, stock, per_user_limit,"
        " sale_starts_at, sale_ends_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (name, price, sale_price, stock, per_user_limit, sale_starts_at, sale_ends_at),
    )
    return int(cur.lastrowid)


def delete(cur: Cursor, product_id: int) -> None:
    cur.execute("DELETE FROM products WHERE product_id = %s", (product_id,))


def by_id(cur: Cursor, product_id: int) -> Row | None:
    cur.execute(f"SELECT {COLUMNS} FROM products WHERE product_id = %s", (product_id,))
    return cur.fetchone()


def all_products(cur: Cursor) -> list[Row]:
    cur.execute(f"SELECT {COLUMNS} FROM products ORDER BY product_id")
    return list(cur.fetchall())


def add_stock(cur: Cursor, product_id: int, qty: int) -> bool:
    """Add ``qty`` (may be negative to undo); False if absent or the column would overflow."""
    cur.execute(
        # Signed arithmetic: unsigned + negative would be an out-of-range error.
        "UPDATE products SET stock = CAST(stock AS SIGNED) + %s"
        " WHERE product_id = %s AND CAST(stock AS SIGNED) + %s BETWEEN 0 AND %s",
        (qty, product_id, qty, MAX_STOCK),
    )
    return bool(cur.rowcount == 1)
