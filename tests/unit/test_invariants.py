"""The invariant checks over hand-made rows: clean data passes, each violation is named."""

from __future__ import annotations

from typing import Any

from ops.audit_checks.first_come import Arrival, arrivals_from_events, check_first_come
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


def _codes(violations: list[Violation]) -> list[tuple[int, str]]:
    return [(v.invariant, v.code) for v in violations]


def test_oversell() -> None:
    stock = {1: 10, 2: 5}
    assert check_no_oversell(stock, {1: Units(4, 6), 2: Units(0, 5)}) == []
    found = check_no_oversell(stock, {1: Units(5, 6), 3: Units(1, 0)})
    assert _codes(found) == [(1, "OVERSOLD"), (1, "UNKNOWN_PRODUCT")]
    assert [v.product_id for v in found] == [1, 3]


def test_leak() -> None:
    stock = {1: 10, 2: 5}
    assert check_no_leak(stock, {1: Units(4, 6)}, {1: 0, 2: 5}) == []
    found = check_no_leak(stock, {1: Units(4, 5)}, {1: 0, 2: 6})
    assert _codes(found) == [(2, "LEAKED"), (2, "UNITS_CREATED")]
    assert _codes(check_no_leak(stock, {}, {1: 10})) == [(2, "UNITS_UNACCOUNTED")]


def test_acknowledged_orders_are_stored_and_final() -> None:
    assert check_orders_stored(["a", "b"], {"a": "PAID", "b": "REJECTED", "c": "EXPIRED"}) == []
    found = check_orders_stored(["a", "b"], {"a": "PENDING", "c": "PENDING"})
    assert [(v.code, v.order_id) for v in found] == [
        ("ORDER_MISSING", "b"),
        ("ORDER_PENDING", "a"),
        ("ORDER_PENDING", "c"),
    ]


def test_payments() -> None:
    clean = [
        PaymentSummary("paid", "PAID", 1, 0),
        PaymentSummary("refunded", "REFUNDED", 1, 1),
        PaymentSummary("late-charge-refunded", "EXPIRED", 1, 1),
        PaymentSummary("failed", "PAYMENT_FAILED", 0, 0),
    ]
    assert check_payments(clean) == []
    broken = [
        PaymentSummary("a", "PAID", 0, 0),
        PaymentSummary("b", "PAID", 1, 1),
        PaymentSummary("c", "REFUNDED", 1, 0),
        PaymentSummary("d", "EXPIRED", 1, 0),
        PaymentSummary("e", None, 1, 0),
        PaymentSummary("f", "CANCELLED", 0, 1),
        PaymentSummary("g", "PAID", 2, 0),
    ]
    assert [(v.order_id, v.code) for v in check_payments(broken)] == [
        ("a", "PAID_WITHOUT_KEPT_CHARGE"),
        ("b", "PAID_WITHOUT_KEPT_CHARGE"),
        ("c", "REFUNDED_WITHOUT_CHARGE_AND_REFUND"),
        ("d", "CHARGE_KEPT"),
        ("e", "CHARGE_KEPT"),
        ("f", "REFUND_WITHOUT_CHARGE"),
        ("g", "CHARGED_TWICE"),
    ]
    assert (
        check_payments(broken[:1], source="gateway ledger")[0].code
        == "LEDGER_PAID_WITHOUT_KEPT_CHARGE"
    )


def test_member_limits() -> None:
    assert check_member_limits([(7, 1, 2), (8, 2, 1)], {1: 2, 2: 1}) == []
    found = check_member_limits([(7, 1, 3)], {1: 2})
    assert _codes(found) == [(5, "OVER_LIMIT")]
    assert (found[0].member_id, found[0].product_id) == (7, 1)


def test_first_come() -> None:
    arrivals = [
        Arrival("early", 1, 1, (10, 0), "RESERVED"),
        Arrival("rejected", 1, 2, (11, 0), "SOLD_OUT"),
        Arrival("smaller", 1, 1, (12, 0), "RESERVED"),  # qty 1 < 2 may still fit
        Arrival("after-return", 1, 2, (20, 0), "RESERVED"),  # stock came back at 15
        Arrival("limit", 1, 1, (21, 0), "LIMIT_EXCEEDED"),
    ]
    assert check_first_come(arrivals, {1: [(15, 0)]}) == []
    found = check_first_come(arrivals, {})
    assert _codes(found) == [(6, "SERVED_OUT_OF_ORDER")]
    assert found[0].order_id == "rejected" and "after-return" in found[0].detail


def test_first_come_within_one_record_follows_the_list() -> None:
    # A CommandBatch at offset 30: its commands arrived in list order.
    arrivals = [
        Arrival("first", 1, 2, (30, 0), "SOLD_OUT"),
        Arrival("second", 1, 2, (30, 1), "RESERVED"),
    ]
    found = check_first_come(arrivals, {})
    assert _codes(found) == [(6, "SERVED_OUT_OF_ORDER")]
    assert "offset 30, index 1" in found[0].detail
    # Units came back between the two (a restock at index 1 of a record is before
    # index 1 of a later one, but here it sits between them in the same record).
    early = [Arrival("second", 1, 2, (30, 2), "RESERVED"), arrivals[0]]
    assert check_first_come(early, {1: [(30, 1)]}) == []
    # The other way round is no violation at all.
    assert check_first_come([arrivals[1], Arrival("third", 1, 2, (30, 2), "SOLD_OUT")], {}) == []


def test_arrivals_and_returns_come_from_order_events() -> None:
    def event(name: str, order_id: str, offset: int, reason: str | None = None) -> dict[str, Any]:
        return {
            "event": name,
            "order_id": order_id,
            "product_id": 1,
            "qty": 1,
            "reason": reason,
            "command_offset": offset,
            "command_index": 0,
        }

    events = [
        event("OrderReserved", "a", 1),
        event("OrderRejected", "b", 2, "SOLD_OUT"),
        event("OrderReserved", "a", 1),  # a replayed duplicate
        event("OrderExpired", "a", 3),
        event("OrderReserved", "c", 4),
        event("OrderPaid", "c", 5),
    ]
    arrivals, returns = arrivals_from_events(events)
    assert [(a.order_id, a.place, a.outcome) for a in arrivals] == [
        ("a", (1, 0), "RESERVED"),
        ("b", (2, 0), "SOLD_OUT"),
        ("c", (4, 0), "RESERVED"),
    ]
    assert returns == {1: [(3, 0)]}
    assert check_first_come(arrivals, returns) == []
    assert _codes(check_first_come(arrivals, {})) == [(6, "SERVED_OUT_OF_ORDER")]
