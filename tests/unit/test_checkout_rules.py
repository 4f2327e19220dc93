"""The checkout rules: every allowed and refused transition, the races, and units
returned exactly once under any sequence of commands (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.checkout_rules import CHARGED, CHARGING, NONE, REFUNDING
from agents.stock_replay import handle
from agents.stock_rules import Located, State
from streams.records import CancelOrder, ExpireOrder, PayOrder, SettlePayment
from streams.statuses import CANCELLED, EXPIRED, PAID, PAYMENT_FAILED, REFUNDED, RESERVED
from tables.stock_records import Order, member_table_key, order_table_key, product_table_key
from tests.unit.test_stock_rules import T0, listing, on_sale, reserve, run

HOLD_ENDS = T0 + 300


def reserved(remaining: int = 9, payment: str = NONE, status: str = RESERVED) -> State:
    """Product 7 with order o-1 (member 1, one unit) reserved until HOLD_ENDS."""
    state, _ = run(State(on_sale(remaining=remaining + 1)), reserve())
    assert state.order is not None
    order = Order(**{**state.order.__dict__, "payment": payment, "status": status})
    return State(state.product, order, state.member_units)


def pay(at: float = T0 + 10, member_id: int = 1) -> PayOrder:
    return PayOrder(product_id=7, order_id="o-1", member_id=member_id, at=at)


def cancel(at: float = T0 + 10, member_id: int = 1) -> CancelOrder:
    return CancelOrder(product_id=7, order_id="o-1", member_id=member_id, at=at)


def expire(at: float = HOLD_ENDS) -> ExpireOrder:
    return ExpireOrder(product_id=7, order_id="o-1", at=at)


def settle(operation: str, succeeded: bool, at: float = T0 + 11) -> SettlePayment:
    return SettlePayment(
        product_id=7, order_id="o-1", operation=operation, succeeded=succeeded,
        payment_id=f"p-{operation}", at=at,
    )  # fmt: skip


def counters(state: State) -> tuple[int, int, int, int]:
    p = state.product
    return p.remaining, p.held, p.sold, state.member_units


def test_pay_asks_for_a_charge_and_keeps_the_order_reserved() -> None:
    state, events = run(reserved(), pay())
    assert state.order is not None
    assert (state.order.status, state.order.payment) == (RESERVED, CHARGING)
    assert [e["event"] for e in events] == ["PaymentRequested"]
    assert counters(state) == (9, 1, 0, 1)


def test_a_succeeded_charge_sells_the_units() -> None:
    state, events = run(reserved(payment=CHARGING), settle("CHARGE", True))
    assert state.order is not None and (state.order.status, state.order.payment) == (PAID, CHARGED)
    assert [e["event"] for e in events] == ["OrderPaid"]
    assert counters(state) == (9, 0, 1, 1)


def test_a_declined_charge_returns_the_units() -> None:
    state, events = run(reserved(payment=CHARGING), settle("CHARGE", False))
    assert state.order is not None and state.order.status == PAYMENT_FAILED
    assert [e["event"] for e in events] == ["OrderPaymentFailed"]
    assert counters(state) == (10, 0, 0, 0)


def test_pay_after_the_hold_ran_out_expires_the_order() -> None:
    state, events = run(reserved(), pay(at=HOLD_ENDS))
    assert state.order is not None and state.order.status == EXPIRED
    assert [e["event"] for e in events] == ["OrderExpired"]
    assert counters(state) == (10, 0, 0, 0)


def test_expiry_before_the_hold_ends_changes_nothing() -> None:
    before = reserved()
    state, events = run(before, expire(at=HOLD_ENDS - 1))
    assert state == before
    assert [e["event"] for e in events] == ["OrderReserved"]  # where the order stands


def test_expiry_returns_the_units_once() -> None:
    state, _ = run(reserved(), expire())
    assert state.order is not None and state.order.status == EXPIRED
    again, _ = run(state, expire(at=HOLD_ENDS + 5))
    assert counters(state) == counters(again) == (10, 0, 0, 0)


def test_a_charge_that_lost_the_race_with_expiry_is_refunded() -> None:
    state, _ = run(reserved(payment=CHARGING), expire())
    state, events = run(state, settle("CHARGE", True, at=HOLD_ENDS + 1))
    assert state.order is not None
    assert (state.order.status, state.order.payment) == (EXPIRED, REFUNDING)
    assert [(e["event"], e["status"]) for e in events] == [("RefundRequested", EXPIRED)]
    assert counters(state) == (10, 0, 0, 0)  # the units are not sold to the late payer
    state, events = run(state, settle("REFUND", True, at=HOLD_ENDS + 2))
    assert state.order is not None and (state.order.status, events) == (EXPIRED, [])


def test_a_declined_charge_after_expiry_needs_no_refund() -> None:
    state, _ = run(reserved(payment=CHARGING), expire())
    state, events = run(state, settle("CHARGE", False, at=HOLD_ENDS + 1))
    assert state.order is not None and (state.order.payment, events) == (NONE, [])


def test_cancel_of_a_reserved_order_returns_the_units() -> None:
    state, events = run(reserved(), cancel())
    assert state.order is not None and state.order.status == CANCELLED
    assert [e["event"] for e in events] == ["OrderCancelled"]
    assert counters(state) == (10, 0, 0, 0)


def test_cancel_racing_a_charge_refunds_the_charge() -> None:
    state, _ = run(reserved(payment=CHARGING), cancel())
    state, events = run(state, settle("CHARGE", True))
    assert state.order is not None and state.order.status == CANCELLED
    assert [e["event"] for e in events] == ["RefundRequested"]
    assert counters(state) == (10, 0, 0, 0)


def test_cancel_of_a_paid_order_refunds_then_returns_the_units() -> None:
    state, _ = run(reserved(payment=CHARGING), settle("CHARGE", True))
    state, events = run(state, cancel(at=T0 + 20))
    assert state.order is not None and (state.order.status, state.order.payment) == (
        PAID,
        REFUNDING,
    )
    assert [e["event"] for e in events] == ["RefundRequested"]
    state, events = run(state, settle("REFUND", True, at=T0 + 21))
    assert state.order is not None and state.order.status == REFUNDED
    assert [e["event"] for e in events] == ["OrderRefunded"]
    assert counters(state) == (10, 0, 0, 0)


def test_refused_transitions_change_nothing() -> None:
    paid, _ = run(reserved(payment=CHARGING), settle("CHARGE", True))
    cancelled, _ = run(reserved(), cancel())
    refused = [
        (reserved(payment=CHARGING), pay()),  # double pay
        (paid, pay()),
        (cancelled, pay()),
        (cancelled, cancel()),  # double cancel
        (paid, expire()),
        (reserved(), pay(member_id=2)),  # someone else's order
        (reserved(), cancel(member_id=2)),
        (reserved(), settle("CHARGE", True)),  # no charge was asked for
        (paid, settle("CHARGE", True)),  # a repeated answer
        (paid, settle("REFUND", True)),  # no refund was asked for
    ]
    for before, command in refused:
        after, events = run(before, command)
        assert after == before, command
        assert len(events) <= 1 and all(e in before.order.events for e in events)  # type: ignore[union-attr]


# --- any sequence, through the replay-safe path ------------------------------

ORDERS = [f"o-{i}" for i in range(4)]
order_ids = st.sampled_from(ORDERS)
times = st.floats(T0, T0 + 600)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), order_ids, st.integers(1, 2), times),
        st.tuples(st.just("pay"), order_ids, times),
        st.tuples(st.just("cancel"), order_ids, times),
        st.tuples(st.just("expire"), order_ids, times),
        st.tuples(
            st.just("settle"), order_ids, st.sampled_from(["CHARGE", "REFUND"]), st.booleans()
        ),
        st.tuples(st.just("restock"), st.integers(1, 3)),
    ),
    max_size=40,
)


def command_for(step: tuple[Any, ...], at: float) -> Any:
    from streams.records import RestockProduct

    kind, *args = step
    member = {oid: i % 2 + 1 for i, oid in enumerate(ORDERS)}
    if kind == "reserve":
        oid, qty, at = args
        return reserve(order_id=oid, member_id=member[oid], qty=qty, at=at)
    if kind == "pay":
        return PayOrder(product_id=7, order_id=args[0], member_id=member[args[0]], at=args[1])
    if kind == "cancel":
        return CancelOrder(product_id=7, order_id=args[0], member_id=member[args[0]], at=args[1])
    if kind == "expire":
        return ExpireOrder(product_id=7, order_id=args[0], at=args[1])
    if kind == "settle":
        oid, op, ok = args
        return SettlePayment(
            product_id=7, order_id=oid, operation=op, succeeded=ok, payment_id="p", at=at
        )
    return RestockProduct(product_id=7, qty=args[0], at=at)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_units_are_returned_exactly_once_whatever_the_order_of_commands(
    sequence: list[tuple[Any, ...]],
) -> None:
    table: dict[str, Any] = {}
    table.update(handle(table.get, [Located(listing(stock=3, limit=2), 0, 0)]).writes)
    for offset, step in enumerate(sequence, start=1):
        table.update(handle(table.get, [Located(command_for(step, T0 + offset), 0, offset)]).writes)

    product = table[product_table_key(7)]
    orders = [table[order_table_key(oid)] for oid in ORDERS if order_table_key(oid) in table]
    held = sum(o["qty"] for o in orders if o["status"] == RESERVED)
    sold = sum(o["qty"] for o in orders if o["status"] == PAID)
    assert product["remaining"] >= 0
    assert (product["held"], product["sold"]) == (held, sold)
    assert product["remaining"] + held + sold == product["stock"]
    for member_id in (1, 2):
        mine = [o for o in orders if o["member_id"] == member_id]
        units = sum(o["qty"] for o in mine if o["status"] in (RESERVED, PAID))
        record = table.get(member_table_key(7, member_id))
        assert (record["units"] if record else 0) == units <= 2
    for order in orders:
        # Only a PAID order keeps a charge; a PAID one keeps it until its refund settles.
        if order["payment"] == CHARGED:
            assert order["status"] == PAID
        if order["status"] == PAID:
            assert order["payment"] in (CHARGED, REFUNDING)
