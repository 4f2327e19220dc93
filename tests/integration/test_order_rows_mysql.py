"""The orders upsert and payments insert on a real MariaDB: precedence holds in SQL too."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.mysql import Cursor, Database
from storage.order_rows import OrderRow, upsert_orders, upsert_statement
from storage.orders import select_order
from storage.payment_rows import PaymentRow, insert_payments
from streams.settings import Settings

pytestmark = pytest.mark.integration

LIFE = [("RESERVED", 10.5), ("RESERVED", 11.25), ("PAID", 12.0), ("REFUNDED", 13.75)]


@pytest.fixture
async def db(fresh_settings: Settings) -> AsyncIterator[Database]:
    database = Database(fresh_settings.mysql_url)
    yield database
    database.close()


def _row(order_id: str, status: str, updated_at: float) -> OrderRow:
    return OrderRow(order_id, 7, 3, 1, 5000, status, None, 1700000000.125, updated_at, 1700000300.5)


def _apply_one_by_one(cur: Cursor, rows: list[OrderRow]) -> None:
    # Row by row, so the SQL rule decides, not the Python merge.
    for row in rows:
        cur.execute(upsert_statement([row]))


async def test_sql_keeps_the_latest_status_whatever_the_order(db: Database) -> None:
    rnd = random.Random(5)
    expected: dict[str, tuple[str, float]] = {}
    deliveries: list[OrderRow] = []
    for n in range(60):
        life = LIFE[: rnd.randint(1, len(LIFE))]
        picks = life + rnd.choices(life, k=3)  # duplicates
        deliveries += [_row(f"o-{n}", status, 1700000000 + at) for status, at in picks]
        expected[f"o-{n}"] = (life[-1][0], 1700000000 + life[-1][1])
    rnd.shuffle(deliveries)
    await db.run(lambda cur: _apply_one_by_one(cur, deliveries))
    # And once more as merged batches: a replay changes nothing.
    await db.run(lambda cur: upsert_orders(cur, deliveries[:100]))

    def read(cur: Cursor) -> dict[str, Any]:
        return {oid: select_order(cur, oid) for oid in expected}

    stored = await db.run(read)
    for order_id, (status, updated_at) in expected.items():
        order = stored[order_id]
        assert (order["status"], order["updated_at"]) == (status, updated_at), order_id
        # Times round-trip exactly through DATETIME(6) and UNIX_TIMESTAMP.
        assert (order["created_at"], order["expires_at"]) == (1700000000.125, 1700000300.5)


async def test_payments_are_written_once(db: Database) -> None:
    first = PaymentRow("p-1", "o-1", "CHARGE", "SUCCEEDED", 5000, 1700000000.5)
    replay = PaymentRow("p-1", "o-1", "CHARGE", "FAILED", 1, 1700000009.0)
    assert await db.run(lambda cur: insert_payments(cur, [first, replay])) == 1
    await db.run(lambda cur: insert_payments(cur, [replay]))

    def read(cur: Cursor) -> list[dict[str, Any]]:
        cur.execute(
            "SELECT payment_id, status, amount, UNIX_TIMESTAMP(created_at) AS at FROM payments"
        )
        return list(cur.fetchall())

    (row,) = await db.run(read)
    assert (row["payment_id"], row["status"], row["amount"], float(row["at"])) == (
        "p-1",
        "SUCCEEDED",
        5000,
        1700000000.5,
    )
