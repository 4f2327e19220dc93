"""Payments in MySQL as the persistence agent writes them: insert once, by payment id.

A payment never changes once the gateway decided it, and its id is
deterministic per order and operation, so a replayed PaymentEvent is simply
ignored (the table's keys are ``payment_id`` and ``(order_id, kind)``).
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.mysql import Cursor
from storage.utc import to_datetime
from streams.shapes import PAYMENT_TYPES, base_type

log = logging.getLogger(__name__)

KINDS = frozenset({"CHARGE", "REFUND"})
STATUSES = frozenset({"SUCCEEDED", "FAILED"})


# The row keeps the payment's fields (streams.shapes) but the order's product and
# member, two of them under the contract's column names.
_RENAMED = {"operation": "kind", "at": "created_at"}
_NOT_STORED = ("product_id", "member_id")
_FROM_EVENT = tuple(
    (name, base_type(kind)) for name, kind in PAYMENT_TYPES.items() if name not in _NOT_STORED
)
COLUMNS = tuple(_RENAMED.get(name, name) for name, _ in _FROM_EVENT)
_TIMES = tuple(_RENAMED.get(name, name) for name, kind in _FROM_EVENT if kind is float)


@dataclass(frozen=True)
class PaymentRow:
    """A ``payments`` row: COLUMNS, in their order (tests/unit/test_record_shapes.py)."""

    payment_id: str
    order_id: str
    kind: str
    status: str
    amount: int
    created_at: float


def payment_row(event: Mapping[str, Any]) -> PaymentRow | None:
    """The row of a PaymentEvent (as decoded JSON); None if it is malformed."""
    try:
        row: PaymentRow | None = PaymentRow(*(kind(event[name]) for name, kind in _FROM_EVENT))
    except (KeyError, TypeError, ValueError):
        row = None
    if row is None or row.kind not in KINDS or row.status not in STATUSES or row.amount < 0:
        log.error("skipping a malformed payment event: %.300r", event)
        return None
    return row


INSERT_PAYMENTS = (
    f"INSERT INTO payments ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
    # The first write wins; a duplicate key is a replay, not an error.
    " ON DUPLICATE KEY UPDATE payment_id = payment_id"
)
_values = operator.attrgetter(*COLUMNS)


def insert_payments(cur: Cursor, rows: Iterable[PaymentRow]) -> int:
    """Write the batch (one multi-row statement); the number of distinct payments."""
    unique: dict[str, PaymentRow] = {}
    for row in rows:
        unique.setdefault(row.payment_id, row)
    params = [
        tuple(
            to_datetime(value) if column in _TIMES else value
            for column, value in zip(COLUMNS, _values(r), strict=True)
        )
        for _, r in sorted(unique.items())
    ]
    if params:
        cur.executemany(INSERT_PAYMENTS, params)
    return len(params)
