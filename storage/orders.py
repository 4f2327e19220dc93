"""Reading orders from MySQL, the durable record (the persistence agent writes them)."""

from __future__ import annotations

from typing import Any

from storage.mysql import Cursor
from streams.shapes import ORDER_FIELDS, ORDER_TIMES

# The order's fields (streams.shapes), times as epoch seconds.
ORDER_COLUMNS = ", ".join(
    f"UNIX_TIMESTAMP({name}) AS {name}" if name in ORDER_TIMES else name for name in ORDER_FIELDS
)


def _typed(row: dict[str, Any]) -> dict[str, Any]:
    for name in ORDER_TIMES:
        if row[name] is not None:
            row[name] = float(row[name])
    return row


def select_order(cur: Cursor, order_id: str) -> dict[str, Any] | None:
    cur.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE order_id = %s", (order_id,))
    row = cur.fetchone()
    return _typed(row) if row else None


def select_member_orders(cur: Cursor, member_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """A member's orders, newest first."""
    cur.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE member_id = %s"
        " ORDER BY created_at DESC, order_id DESC LIMIT %s",
        (member_id, limit),
    )
    return [_typed(row) for row in cur.fetchall()]
