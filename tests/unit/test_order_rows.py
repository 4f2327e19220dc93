"""Persistence precedence: a batch merges to each order's latest row, never an older one."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pymysql.cursors import RE_INSERT_VALUES

from storage.order_rows import (
    OrderRow,
    newest_per_order,
    order_params,
    order_row,
    upsert_statement,
)
from storage.payment_rows import INSERT_PAYMENTS, payment_row
from storage.utc import to_datetime, to_epoch_micros
from streams.statuses import STATUS_RANK

# One order's life, in the order the stock agent emits it.
LIFE = [("RESERVED", 10.0), ("RESERVED", 11.0), ("PAID", 12.0), ("REFUNDED", 13.0)]


def _row(status: str, updated_at: float, order_id: str = "o-1") -> OrderRow:
    return OrderRow(order_id, 7, 3, 1, 5000, status, None, 10.0, updated_at, 310.0)


def _event(**extra: Any) -> dict[str, Any]:
    event = {
        "event": "OrderReserved",
        "order_id": "o-1",
        "member_id": 7,
        "product_id": 3,
        "qty": 2,
        "amount": 10000,
        "status": "RESERVED",
        "reason": None,
        "created_at": 1700000000.25,
        "updated_at": 1700000000.5,
        "expires_at": 1700000300.5,
        "command_partition": 1,
        "command_offset": 4,
    }
    return {**event, **extra}


@given(st.lists(st.sampled_from(LIFE), min_size=1, max_size=12), st.randoms())
def test_any_delivery_order_ends_at_the_latest_status(picks: list[Any], rnd: random.Random) -> None:
    rows = [_row(status, at) for status, at in picks]
    rnd.shuffle(rows)
    (kept,) = newest_per_order(rows)
    assert kept.precedence == max(r.precedence for r in rows)


def test_rank_beats_time_and_time_breaks_ties() -> None:
    # A later rank wins even with an older clock (another API instance's time).
    (kept,) = newest_per_order([_row("PAID", 5.0), _row("RESERVED", 11.0)])
    assert kept.status == "PAID"
    (kept,) = newest_per_order([_row("RESERVED", 11.0), _row("RESERVED", 10.0)])
    assert kept.updated_at == 11.0


def test_one_row_per_order_in_lock_order() -> None:
    rows = [_row("RESERVED", 1.0, "b"), _row("PAID", 2.0, "a"), _row("RESERVED", 1.0, "a")]
    assert [(r.order_id, r.status) for r in newest_per_order(rows)] == [
        ("a", "PAID"),
        ("b", "RESERVED"),
    ]


def test_events_become_rows_with_utc_times() -> None:
    row = order_row(_event())
    assert row is not None
    params = order_params(row)
    assert params[:8] == ["o-1", 7, 3, 2, 10000, "RESERVED", None, STATUS_RANK["RESERVED"]]
    assert params[8] == 1700000000_250000
    assert params[10] == 1700000300_500000
    assert order_params(dataclasses.replace(row, expires_at=None))[10] is None


@given(st.floats(min_value=0, max_value=4e9))
def test_epoch_micros_round_as_datetimes_do(seconds: float) -> None:
    # MySQL gets TIMESTAMPADD(MICROSECOND, n, '1970-01-01'): the datetime to_datetime gives.
    micros = to_epoch_micros(seconds)
    assert micros is not None
    assert datetime(1970, 1, 1) + timedelta(microseconds=micros) == to_datetime(seconds)


def test_malformed_events_are_skipped() -> None:
    assert order_row(_event(status="LOST")) is None
    assert order_row(_event(qty="two")) is None
    assert order_row({"order_id": "o-1"}) is None
    assert payment_row({"payment_id": "p", "order_id": "o", "operation": "CHARGE"}) is None


def test_statements_batch_into_one_statement() -> None:
    # A batch of orders is one JSON parameter; pymysql's executemany rewrites only
    # statements of the payments' shape into one multi-row INSERT.
    statement = upsert_statement([_row("PAID", 12.0), _row("PAID", 12.0, "o-2")])
    hex_literal = statement.split("X'", 1)[1].split("'", 1)[0]
    assert [r[0] for r in json.loads(bytes.fromhex(hex_literal))] == ["o-1", "o-2"]
    assert RE_INSERT_VALUES.match(INSERT_PAYMENTS)
