"""The example analytics consumer's arithmetic: dedupe by (order_id, status), minutes in UTC."""

from __future__ import annotations

from typing import Any

from analytics.sales import SalesPerMinute, minute_of

MINUTE = 1_764_499_260.0  # 2025-11-30T10:41:00Z


def event(name: str, order_id: str, status: str, at: float, qty: int = 1) -> dict[str, Any]:
    return {
        "event": name,
        "order_id": order_id,
        "product_id": 7,
        "qty": qty,
        "amount": 5000 * qty,
        "status": status,
        "updated_at": at,
    }


def test_each_move_to_a_status_counts_once() -> None:
    sales = SalesPerMinute()
    stream = [
        event("OrderReserved", "a", "RESERVED", MINUTE),
        event("PaymentRequested", "a", "RESERVED", MINUTE + 1),
        event("OrderPaid", "a", "PAID", MINUTE + 2, qty=2),
        event("OrderPaid", "a", "PAID", MINUTE + 2, qty=2),  # delivered again
        event("RefundRequested", "a", "PAID", MINUTE + 70, qty=2),  # says PAID again
        event("OrderRefunded", "a", "REFUNDED", MINUTE + 71, qty=2),
        event("OrderPaid", "b", "PAID", MINUTE + 59),
    ]
    for e in stream:
        sales.add(e)
    assert sales.rows() == [
        {"minute": "2025-11-30T10:41Z", "product_id": 7, "units_sold": 3, "revenue": 15000}
        | {"units_refunded": 0, "refunded": 0},
        {"minute": "2025-11-30T10:42Z", "product_id": 7, "units_sold": 0, "revenue": 0}
        | {"units_refunded": 2, "refunded": 10000},
    ]


def test_minutes_are_utc() -> None:
    assert minute_of(MINUTE + 59.9) == "2025-11-30T10:41Z"
