"""Orders in MySQL as the persistence agent writes them: batched, idempotent upserts.

Precedence: an order's row is replaced only by an update that is not older, by
``(status_rank, updated_at)`` compared in that order (``streams.statuses``). So
replays, duplicates and out-of-order delivery never move a status backwards, and
applying any mix of an order's events in any order ends at its latest status.
The same rule merges a batch in Python first, so each order is written once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.mysql import Cursor
from storage.utc import to_datetime
from streams.statuses import STATUS_RANK

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderRow:
    order_id: str
    member_id: int
    product_id: int
    qty: int
    amount: int
    status: str
    reason: str | None
    created_at: float
    updated_at: float
    expires_at: float | None

    @property
    def precedence(self) -> tuple[int, float]:
        return STATUS_RANK[self.status], self.updated_at


def order_row(event: Mapping[str, Any]) -> OrderRow | None:
    """The row an OrderEvent (as decoded JSON) asks for; None if it is malformed."""
    try:
        row = OrderRow(
            order_id=str(event["order_id"]),
            member_id=int(event["member_id"]),
            product_id=int(event["product_id"]),
            qty=int(event["qty"]),
            amount=int(event["amount"]),
            status=str(event["status"]),
            reason=None if event.get("reason") is None else str(event["reason"]),
            created_at=float(event["created_at"]),
            updated_at=float(event["updated_at"]),
            expires_at=None if event.get("expires_at") is None else float(event["expires_at"]),
        )
    except (KeyError, TypeError, ValueError):
        row = None
    if row is None or row.status not in STATUS_RANK or min(row.qty, row.amount) < 0:
        # Retrying cannot fix a malformed event; storing it could break readers.
        log.error("skipping a malformed order event: %.300r", event)
        return None
    return row


def newest_per_order(rows: Iterable[OrderRow]) -> list[OrderRow]:
    """One row per order: the one with the highest precedence (the later one on a tie)."""
    newest: dict[str, OrderRow] = {}
    for row in rows:
        held = newest.get(row.order_id)
        if held is None or row.precedence >= held.precedence:
            newest[row.order_id] = row
    # A fixed lock order keeps concurrent batches (several workers) from deadlocking.
    return [newest[order_id] for order_id in sorted(newest)]


# Whether the incoming row (VALUES) is not older than the stored one. Assignments
# run left to right and see earlier ones, so every assignment that tests it comes
# before those of updated_at and status_rank, which it reads.
_NOT_OLDER = (
    "(VALUES(status_rank) > status_rank OR"
    " (VALUES(status_rank) = status_rank AND VALUES(updated_at) >= updated_at))"
)
_FOLLOWING = ("status", "reason", "expires_at", "updated_at")

UPSERT_ORDERS = (
    "INSERT INTO orders (order_id, member_id, product_id, qty, amount, status, reason,"
    " status_rank, created_at, updated_at, expires_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON DUPLICATE KEY UPDATE "
    + ", ".join(f"{col} = IF({_NOT_OLDER}, VALUES({col}), {col})" for col in _FOLLOWING)
    + ", status_rank = GREATEST(status_rank, VALUES(status_rank))"
)


def order_params(row: OrderRow) -> tuple[Any, ...]:
    """The parameters of ``UPSERT_ORDERS`` for ``row``, in column order."""
    return (
        row.order_id,
        row.member_id,
        row.product_id,
        row.qty,
        row.amount,
        row.status,
        row.reason,
        STATUS_RANK[row.status],
        to_datetime(row.created_at),
        to_datetime(row.updated_at),
        to_datetime(row.expires_at),
    )


def upsert_orders(cur: Cursor, rows: Iterable[OrderRow]) -> int:
    """Write the batch (one multi-row statement); the number of orders written."""
    params = [order_params(row) for row in newest_per_order(rows)]
    if params:
        cur.executemany(UPSERT_ORDERS, params)
    return len(params)
