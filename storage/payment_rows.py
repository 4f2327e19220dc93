"""Payments in MySQL as the persistence agent writes them: insert once, by payment id.

A payment never changes once the gateway decided it, and its id is
deterministic per order and operation, so a replayed PaymentEvent is simply
ignored (the table's keys are ``payment_id`` and ``(order_id, kind)``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.mysql import Cursor
from storage.utc import to_datetime

log = logging.getLogger(__name__)

KINDS = frozenset({"CHARGE", "REFUND"})
STATUSES = frozenset({"SUCCEEDED", "FAILED"})


@dataclass(frozen=True)
class PaymentRow:
    payment_id: str
    order_id: str
    kind: str
    status: str
    amount: int
    created_at: float


def payment_row(event: Mapping[str, Any]) -> PaymentRow | None:
    """The row of a PaymentEvent (as decoded JSON); None if it is malformed."""
    try:
        row = PaymentRow(
            payment_id=str(event["payment_id"]),
            order_id=str(event["order_id"]),
            kind=str(event["operation"]),
            status=str(event["status"]),
            amount=int(event["amount"]),
            created_at=float(event["at"]),
        )
    except (KeyError, TypeError, ValueError):
        row = None
    if row is None or row.kind not in KINDS or row.status not in STATUSES or row.amount < 0:
        log.error("skipping a malformed payment event: %.300r", event)
        return None
    return row


INSERT_PAYMENTS = (
    "INSERT INTO payments (payment_id, order_id, kind, status, amount, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
    # The first write wins; a duplicate key is a replay, not an error.
    " ON DUPLICATE KEY UPDATE payment_id = payment_id"
)


def insert_payments(cur: Cursor, rows: Iterable[PaymentRow]) -> int:
    """Write the batch (one multi-row statement); the number of distinct payments."""
    unique: dict[str, PaymentRow] = {}
    for row in rows:
        unique.setdefault(row.payment_id, row)
    params = [
        (r.payment_id, r.order_id, r.kind, r.status, r.amount, to_datetime(r.created_at))
        for _, r in sorted(unique.items())
    ]
    if params:
        cur.executemany(INSERT_PAYMENTS, params)
    return len(params)
