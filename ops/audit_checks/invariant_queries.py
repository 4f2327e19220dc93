"""Check the contract's invariants against MySQL: the reusable core of the audit.

``check(cur, ...)`` reads what the pure checks of ``ops.audit_checks.invariants`` and
``ops.audit_checks.first_come`` need, with a few aggregate queries, and returns every
violation. What MySQL cannot know comes from the caller: the order ids the API
acknowledged (invariant 3), ``remaining`` per product from the stock table
(invariant 2), and arrivals with their command offsets (invariant 6). A check
whose input is not given is skipped. ``check_database`` runs it off the loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ops.audit_checks.first_come import Arrival, Place, check_first_come
from ops.audit_checks.invariants import (
    PaymentSummary,
    Units,
    Violation,
    check_member_limits,
    check_no_leak,
    check_no_oversell,
    check_orders_stored,
    check_payments,
)
from storage.mysql import Cursor, Database

CHUNK = 1000


def product_limits(cur: Cursor) -> tuple[dict[int, int], dict[int, int]]:
    """(stock, per_user_limit) per listed product."""
    cur.execute("SELECT product_id, stock, per_user_limit FROM products")
    rows = cur.fetchall()
    stock = {int(r["product_id"]): int(r["stock"]) for r in rows}
    limits = {int(r["product_id"]): int(r["per_user_limit"]) for r in rows}
    return stock, limits


def units_held(cur: Cursor) -> dict[int, Units]:
    cur.execute(
        "SELECT product_id, SUM(IF(status = 'RESERVED', qty, 0)) AS reserved,"
        " SUM(IF(status = 'PAID', qty, 0)) AS paid FROM orders"
        " WHERE status IN ('RESERVED', 'PAID') GROUP BY product_id"
    )
    return {int(r["product_id"]): Units(int(r["reserved"]), int(r["paid"])) for r in cur.fetchall()}


def statuses(cur: Cursor, order_ids: Sequence[str]) -> dict[str, str]:
    """Status of each given order that has a row, plus every PENDING row."""
    found: dict[str, str] = {}
    for start in range(0, len(order_ids), CHUNK):
        chunk = order_ids[start : start + CHUNK]
        marks = ", ".join(["%s"] * len(chunk))
        cur.execute(f"SELECT order_id, status FROM orders WHERE order_id IN ({marks})", chunk)
        found.update((r["order_id"], r["status"]) for r in cur.fetchall())
    cur.execute("SELECT order_id, status FROM orders WHERE status = 'PENDING'")
    found.update((r["order_id"], r["status"]) for r in cur.fetchall())
    return found


def _summaries(cur: Cursor, table: str, kind: str) -> list[PaymentSummary]:
    # Orders that must have a charge, and every order with a succeeded payment.
    succeeded = (
        f"SELECT order_id, SUM({kind} = 'CHARGE') AS charges, SUM({kind} = 'REFUND') AS refunds"
        f" FROM {table} WHERE status = 'SUCCEEDED' GROUP BY order_id"
    )
    cur.execute(
        f"SELECT o.order_id, o.status, COALESCE(p.charges, 0) AS charges,"
        f" COALESCE(p.refunds, 0) AS refunds FROM orders o LEFT JOIN ({succeeded}) p"
        f" ON p.order_id = o.order_id"
        f" WHERE o.status IN ('PAID', 'REFUNDED') OR p.order_id IS NOT NULL"
        f" UNION ALL SELECT p.order_id, NULL, p.charges, p.refunds FROM ({succeeded}) p"
        f" LEFT JOIN orders o ON o.order_id = p.order_id WHERE o.order_id IS NULL"
    )
    return [
        PaymentSummary(r["order_id"], r["status"], int(r["charges"]), int(r["refunds"]))
        for r in cur.fetchall()
    ]


def payment_summaries(cur: Cursor) -> list[PaymentSummary]:
    return _summaries(cur, "payments", "kind")


def ledger_summaries(cur: Cursor) -> list[PaymentSummary] | None:
    """The same from the payment gateway's ledger; None where it has no ledger table."""
    cur.execute("SHOW TABLES LIKE 'gateway_ledger'")
    if cur.fetchone() is None:
        return None
    return _summaries(cur, "gateway_ledger", "operation")


def holdings(cur: Cursor) -> list[tuple[int, int, int]]:
    cur.execute(
        "SELECT member_id, product_id, SUM(qty) AS units FROM orders"
        " WHERE status IN ('RESERVED', 'PAID') GROUP BY member_id, product_id"
    )
    return [(int(r["member_id"]), int(r["product_id"]), int(r["units"])) for r in cur.fetchall()]


def check(
    cur: Cursor,
    acknowledged: Iterable[str] | None = None,
    remaining: Mapping[int, int] | None = None,
    arrivals: Iterable[Arrival] | None = None,
    stock_returns: Mapping[int, Sequence[Place]] | None = None,
) -> list[Violation]:
    """Every violation of invariants 1-6 that MySQL and the given facts show."""
    stock, limits = product_limits(cur)
    units = units_held(cur)
    found = check_no_oversell(stock, units)
    if remaining is not None:
        found += check_no_leak(stock, units, remaining)
    acked = sorted(set(acknowledged or ()))
    found += check_orders_stored(acked, statuses(cur, acked))
    found += check_payments(payment_summaries(cur))
    ledger = ledger_summaries(cur)
    if ledger is not None:
        found += check_payments(ledger, source="gateway ledger")
    found += check_member_limits(holdings(cur), limits)
    if arrivals is not None:
        found += check_first_come(arrivals, stock_returns or {})
    return found


async def check_database(
    db: Database,
    acknowledged: Iterable[str] | None = None,
    remaining: Mapping[int, int] | None = None,
    arrivals: Iterable[Arrival] | None = None,
    stock_returns: Mapping[int, Sequence[Place]] | None = None,
) -> list[Violation]:
    """``check`` in one read transaction, in a thread."""
    acked, given = list(acknowledged or ()), list(arrivals) if arrivals is not None else None
    return await db.run(lambda cur: check(cur, acked, remaining, given, stock_returns))
