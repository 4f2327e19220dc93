"""Orders in MySQL as the persistence agent writes them: batched, idempotent upserts.

Precedence: an order's row is replaced only by an update that is not older, by
``(status_rank, updated_at)`` compared in that order (``streams.statuses``). So
replays, duplicates and out-of-order delivery never move a status backwards, and
applying any mix of an order's events in any order ends at its latest status.
The same rule merges a batch in Python first, so each order is written once.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from storage.mysql import Cursor
from storage.utc import to_epoch_micros
from streams.shapes import (
    ORDER_FIELDS,
    ORDER_TIMES,
    ORDER_TYPES,
    OrderFields,
    base_type,
    is_optional,
)
from streams.statuses import STATUS_RANK

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrderRow(OrderFields):
    """An order's row: the order's fields (streams.shapes); ``status_rank`` is derived."""

    @property
    def precedence(self) -> tuple[int, float]:
        return STATUS_RANK[self.status], self.updated_at


# Each field of an OrderEvent as the row takes it: its type (int, str, float), and
# whether it may be null or missing (then None).
_FROM_EVENT = tuple(
    (name, base_type(kind), is_optional(kind)) for name, kind in ORDER_TYPES.items()
)


def order_row(event: Mapping[str, Any]) -> OrderRow | None:
    """The row an OrderEvent (as decoded JSON) asks for; None if it is malformed."""
    values: dict[str, Any] = {}
    try:
        for name, kind, optional in _FROM_EVENT:
            value = event.get(name) if optional else event[name]
            values[name] = None if optional and value is None else kind(value)
        row: OrderRow | None = OrderRow(**values)
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

# The batch is one JSON document, a list of rows in column order (times in epoch
# microseconds), expanded by JSON_TABLE and sent as a hex literal, which needs no
# escaping: pymysql's executemany escaped every value of every row in Python, and
# that cost the saga worker more than the statement costs MariaDB. The columns are
# wide enough for anything, so the table's own types and constraints judge each value.
# They are the order's fields (streams.shapes), its times last, and the row's own
# status_rank before them.
_PLAIN = tuple(name for name in ORDER_FIELDS if name not in ORDER_TIMES)
_SQL_TYPES = {str: "VARCHAR(255)", int: "BIGINT"}
_COLUMNS = (
    *((name, _SQL_TYPES[base_type(ORDER_TYPES[name])]) for name in _PLAIN),
    ("status_rank", "INT"),
    *((name, "BIGINT") for name in ORDER_TIMES),
)
COLUMNS = tuple(name for name, _ in _COLUMNS)
_BATCH = ", ".join(
    f"new_{name} {kind} PATH '$[{index}]'" for index, (name, kind) in enumerate(_COLUMNS)
)
# Naive UTC DATETIME(6) from epoch microseconds, whatever the session's time zone.
_SELECTED = ", ".join(
    f"TIMESTAMPADD(MICROSECOND, new_{name}, TIMESTAMP'1970-01-01 00:00:00')"
    if name in ORDER_TIMES
    else f"new_{name}"
    for name, _ in _COLUMNS
)

# ``{batch}``: the rows' document as a hex literal (``upsert_statement``).
UPSERT_ORDERS = (
    f"INSERT INTO orders ({', '.join(COLUMNS)}) SELECT {_SELECTED}"
    f" FROM JSON_TABLE(CONVERT({{batch}} USING utf8mb4), '$[*]' COLUMNS ({_BATCH})) AS batch"
    " ON DUPLICATE KEY UPDATE "
    + ", ".join(f"{col} = IF({_NOT_OLDER}, VALUES({col}), {col})" for col in _FOLLOWING)
    + ", status_rank = GREATEST(status_rank, VALUES(status_rank))"
)

_plain_values = operator.attrgetter(*_PLAIN)
_time_values = operator.attrgetter(*ORDER_TIMES)


def order_params(row: OrderRow) -> list[Any]:
    """``row`` as one entry of the batch's document, in column order."""
    times = [to_epoch_micros(value) for value in _time_values(row)]
    return [*_plain_values(row), STATUS_RANK[row.status], *times]


def upsert_statement(rows: Iterable[OrderRow]) -> str:
    """``UPSERT_ORDERS`` writing ``rows`` as given (one statement)."""
    document = orjson.dumps([order_params(row) for row in rows])
    return UPSERT_ORDERS.format(batch=f"X'{document.hex()}'")


def upsert_orders(cur: Cursor, rows: Iterable[OrderRow]) -> int:
    """Write the batch, merged to one row per order (one statement); how many orders."""
    newest = newest_per_order(rows)
    if newest:
        cur.execute(upsert_statement(newest))
    return len(newest)
