"""The invariant checker against a real MariaDB: clean rows pass, each violation is found."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from ops.audit_checks.first_come import Arrival
from ops.audit_checks.invariant_queries import check_database
from storage.mysql import Cursor, Database
from streams.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(fresh_settings: Settings) -> AsyncIterator[Database]:
    database = Database(fresh_settings.mysql_url)
    await database.run(_clean_sale)
    yield database
    database.close()


def _order(
    cur: Cursor, order_id: str, member_id: int, product_id: int, status: str, qty: int = 1
) -> None:
    cur.execute(
        "INSERT INTO orders (order_id, member_id, product_id, qty, amount, status, status_rank,"
        " created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, 100, %s, 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
        (order_id, member_id, product_id, qty, status),
    )


def _payment(cur: Cursor, order_id: str, kind: str, status: str = "SUCCEEDED") -> None:
    cur.execute(
        "INSERT INTO payments (payment_id, order_id, kind, status, amount, created_at)"
        " VALUES (UUID(), %s, %s, %s, 100, UTC_TIMESTAMP(6))",
        (order_id, kind, status),
    )
    cur.execute(
        "INSERT INTO gateway_ledger (order_id, operation, status, amount, decided_at)"
        " VALUES (%s, %s, %s, 100, UTC_TIMESTAMP(6))",
        (order_id, kind, status),
    )


def _clean_sale(cur: Cursor) -> None:
    """Product 1: stock 3, limit 1; one order of each final outcome."""
    cur.execute(
        "INSERT INTO products (product_id, name, price, sale_price, stock, per_user_limit)"
        " VALUES (1, 'item', 200, 100, 3, 1)"
    )
    _order(cur, "reserved", 1, 1, "RESERVED")
    _order(cur, "paid", 2, 1, "PAID")
    _payment(cur, "paid", "CHARGE")
    _order(cur, "refunded", 3, 1, "REFUNDED")
    _payment(cur, "refunded", "CHARGE")
    _payment(cur, "refunded", "REFUND")
    _order(cur, "failed", 4, 1, "PAYMENT_FAILED")
    _payment(cur, "failed", "CHARGE", "FAILED")
    _order(cur, "rejected", 5, 1, "REJECTED")


ACKED = ["reserved", "paid", "refunded", "failed", "rejected"]
REMAINING = {1: 1}
ARRIVALS = [
    Arrival("reserved", 1, 1, (1, 0), "RESERVED"),
    Arrival("rejected", 1, 1, (9, 0), "SOLD_OUT"),
]


async def _check(db: Database, **given: Any) -> list[tuple[int, str, Any]]:
    facts = {"acknowledged": ACKED, "remaining": REMAINING, "arrivals": ARRIVALS} | given
    return [
        (v.invariant, v.code, v.order_id or v.member_id or v.product_id)
        for v in await check_database(db, **facts)
    ]


async def test_a_clean_sale_has_no_violations(db: Database) -> None:
    assert await _check(db) == []


def _oversell(cur: Cursor) -> None:
    _order(cur, "over-1", 6, 1, "RESERVED")
    _order(cur, "over-2", 7, 1, "RESERVED")


def _sql(statement: str) -> Callable[[Cursor], None]:
    def run(cur: Cursor) -> None:
        cur.execute(statement)

    return run


def _nothing(cur: Cursor) -> None:
    pass


Damage = Callable[[Cursor], None]
BREAKS = [
    pytest.param(_oversell, {}, [(1, "OVERSOLD", 1), (2, "UNITS_CREATED", 1)], id="oversell"),
    pytest.param(_nothing, {"remaining": {1: 0}}, [(2, "LEAKED", 1)], id="leak"),
    pytest.param(
        _nothing, {"acknowledged": [*ACKED, "lost"]}, [(3, "ORDER_MISSING", "lost")], id="lost"
    ),
    pytest.param(
        lambda cur: _order(cur, "stuck", 6, 1, "PENDING"),
        {},
        [(3, "ORDER_PENDING", "stuck")],
        id="pending",
    ),
    pytest.param(
        _sql("DELETE FROM payments WHERE order_id = 'paid'"),
        {},
        [(4, "PAID_WITHOUT_KEPT_CHARGE", "paid")],
        id="paid-without-charge",
    ),
    pytest.param(
        _sql("DELETE FROM gateway_ledger WHERE order_id = 'refunded' AND operation = 'REFUND'"),
        {},
        [(4, "LEDGER_REFUNDED_WITHOUT_CHARGE_AND_REFUND", "refunded")],
        id="refund-missing-in-ledger",
    ),
    pytest.param(
        lambda cur: _payment(cur, "ghost", "CHARGE"),
        {},
        [(4, "CHARGE_KEPT", "ghost"), (4, "LEDGER_CHARGE_KEPT", "ghost")],
        id="charge-kept",
    ),
    pytest.param(
        _sql("UPDATE orders SET member_id = 1 WHERE order_id = 'paid'"),
        {},
        [(5, "OVER_LIMIT", 1)],
        id="over-limit",
    ),
    pytest.param(
        _nothing,
        {"arrivals": [*ARRIVALS, Arrival("late", 1, 1, (12, 0), "RESERVED")]},
        [(6, "SERVED_OUT_OF_ORDER", "rejected")],
        id="first-come",
    ),
]


@pytest.mark.parametrize(("damage", "given", "expected"), BREAKS)
async def test_each_kind_of_violation_is_found(
    db: Database,
    damage: Damage,
    given: dict[str, Any],
    expected: list[tuple[int, str, Any]],
) -> None:
    await db.run(damage)
    assert await _check(db, **given) == expected
