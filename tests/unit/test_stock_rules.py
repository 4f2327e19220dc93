"""Every rule of the stock decision, and its invariants under any command sequence."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.stock_replay import handle
from agents.stock_rules import Located, State, decide
from streams.records import ExpireOrder, ListProduct, ReserveOrder, RestockProduct
from streams.statuses import LIMIT_EXCEEDED, REJECTED, RESERVED, SALE_NOT_ACTIVE, SOLD_OUT
from tables.stock_records import MEMBER_PREFIX, Order, Product, product_table_key

T0 = 1_000_000.0


def listing(stock: int = 10, limit: int = 2, **extra: Any) -> ListProduct:
    fields: dict[str, Any] = dict(product_id=7, stock=stock, per_user_limit=limit, price=100)
    fields.update(sale_price=80)
    fields.update(sale_starts_at=None, sale_ends_at=None, at=T0)
    fields.update(extra)
    return ListProduct(**fields)


def reserve(
    order_id: str = "o-1", member_id: int = 1, qty: int = 1, at: float = T0
) -> ReserveOrder:
    return ReserveOrder(
        product_id=7,
        order_id=order_id,
        member_id=member_id,
        qty=qty,
        amount=80 * qty,
        hold_seconds=300,
        at=at,
    )


def on_sale(remaining: int = 10, limit: int = 2, **extra: Any) -> Product:
    return Product(7, True, remaining, remaining, 0, 0, limit, 100, 80, **extra)


def run(state: State, body: Any, offset: int = 5) -> tuple[State, list[dict[str, Any]]]:
    return decide(state, Located(body, 3, offset), body.at)


def test_listing_a_new_product_puts_its_stock_on_sale() -> None:
    state, events = run(State(Product(7)), listing(stock=10, limit=2, sale_ends_at=T0 + 60))
    assert state.product == Product(7, True, 10, 10, 0, 0, 2, 100, 80, None, T0 + 60)
    assert events == []


def test_listing_a_listed_product_changes_nothing() -> None:
    before = State(dataclasses.replace(on_sale(), remaining=3, held=7))
    assert run(before, listing(stock=99, limit=5)) == (before, [])


def test_listing_keeps_units_restocked_before_it() -> None:
    state, _ = run(State(Product(7)), RestockProduct(product_id=7, qty=4, at=T0))
    state, _ = run(state, listing(stock=10))
    assert (state.product.stock, state.product.remaining) == (14, 14)


def test_restock_adds_to_stock_and_remaining() -> None:
    before = State(dataclasses.replace(on_sale(remaining=0), stock=5, sold=5))
    state, events = run(before, RestockProduct(product_id=7, qty=3, at=T0))
    assert (state.product.stock, state.product.remaining, state.product.sold) == (8, 3, 5)
    assert events == []


def test_restock_of_nothing_changes_nothing() -> None:
    before = State(on_sale())
    assert run(before, RestockProduct(product_id=7, qty=0, at=T0)) == (before, [])


def test_reservation_holds_units_for_the_member() -> None:
    state, events = run(State(on_sale(remaining=10), member_units=1), reserve(qty=1), offset=42)
    assert (state.product.remaining, state.product.held, state.member_units) == (9, 1, 2)
    assert state.order is not None and state.order.status == RESERVED
    assert events == [
        {
            "event": "OrderReserved",
            "order_id": "o-1",
            "member_id": 1,
            "product_id": 7,
            "qty": 1,
            "amount": 80,
            "status": RESERVED,
            "reason": None,
            "created_at": T0,
            "updated_at": T0,
            "expires_at": T0 + 300,
            "command_partition": 3,
            "command_offset": 42,
            "command_index": 0,
        }
    ]
    assert state.order.events == tuple(events)


def test_last_units_can_be_reserved() -> None:
    state, events = run(State(on_sale(remaining=2)), reserve(qty=2))
    assert state.product.remaining == 0 and events[0]["status"] == RESERVED


def rejected(state: State, body: ReserveOrder) -> str:
    new, events = run(state, body)
    assert new.product == state.product and new.member_units == state.member_units
    assert new.order is not None and new.order.status == REJECTED
    assert events[0]["event"] == "OrderRejected" and events[0]["expires_at"] is None
    return str(events[0]["reason"])


def test_unlisted_product_is_not_on_sale() -> None:
    assert rejected(State(Product(7)), reserve()) == SALE_NOT_ACTIVE


def test_sale_window_is_half_open() -> None:
    window = on_sale(sale_starts_at=T0, sale_ends_at=T0 + 10)
    assert rejected(State(window), reserve(at=T0 - 0.001)) == SALE_NOT_ACTIVE
    assert run(State(window), reserve(at=T0))[0].order.status == RESERVED  # type: ignore[union-attr]
    assert run(State(window), reserve(at=T0 + 9.9))[1][0]["status"] == RESERVED
    assert rejected(State(window), reserve(at=T0 + 10)) == SALE_NOT_ACTIVE


def test_the_command_time_decides_not_the_clock() -> None:
    past_sale = on_sale(sale_starts_at=T0, sale_ends_at=T0 + 10)  # long over by the wall clock
    assert run(State(past_sale), reserve(at=T0 + 1))[1][0]["status"] == RESERVED


def test_more_than_the_limit_at_once_is_rejected() -> None:
    assert rejected(State(on_sale(limit=2)), reserve(qty=3)) == LIMIT_EXCEEDED


def test_the_limit_counts_units_already_held() -> None:
    assert rejected(State(on_sale(limit=2), member_units=2), reserve(qty=1)) == LIMIT_EXCEEDED
    assert rejected(State(on_sale(limit=2), member_units=1), reserve(qty=2)) == LIMIT_EXCEEDED


def test_a_non_positive_quantity_is_never_reserved() -> None:
    assert rejected(State(on_sale()), reserve(qty=0)) == LIMIT_EXCEEDED
    assert rejected(State(on_sale()), reserve(qty=-3)) == LIMIT_EXCEEDED


def test_more_than_remaining_is_sold_out() -> None:
    assert rejected(State(on_sale(remaining=1, limit=5)), reserve(qty=2)) == SOLD_OUT
    assert rejected(State(on_sale(remaining=0)), reserve(qty=1)) == SOLD_OUT


def test_the_limit_is_checked_before_stock() -> None:
    assert (
        rejected(State(on_sale(remaining=0, limit=1), member_units=1), reserve()) == LIMIT_EXCEEDED
    )


def test_the_sale_window_is_checked_first() -> None:
    closed = on_sale(remaining=0, limit=1, sale_starts_at=T0 + 1)
    assert rejected(State(closed, member_units=1), reserve(qty=2)) == SALE_NOT_ACTIVE


def test_a_known_order_changes_nothing_and_repeats_its_latest_event() -> None:
    first, events = run(State(on_sale()), reserve(), offset=5)
    again = State(on_sale(remaining=0), first.order, first.member_units)
    assert run(again, reserve(qty=2), offset=9) == (again, events)


def test_a_known_rejected_order_stays_rejected_when_stock_comes_back() -> None:
    first, events = run(State(on_sale(remaining=0)), reserve(), offset=5)
    assert first.order is not None and first.order.reason == SOLD_OUT
    again = State(on_sale(remaining=10), first.order)
    assert run(again, reserve(), offset=9) == (again, events)


def test_an_order_record_carries_the_outcome() -> None:
    state, _ = run(State(on_sale()), reserve(member_id=4, qty=2))
    assert state.order == Order(
        "o-1",
        4,
        7,
        2,
        160,
        RESERVED,
        None,
        T0,
        T0,
        T0 + 300,
        events=state.order.events,  # type: ignore[union-attr]
    )


def test_the_rules_import_neither_faust_nor_kafka() -> None:
    code = (
        "import sys, agents.stock_rules, agents.stock_replay\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('faust', 'aiokafka', 'kafka')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- any sequence of commands keeps the invariants ------------------------------------

commands = st.lists(
    st.one_of(
        st.builds(lambda s, lim: ("list", s, lim), st.integers(0, 20), st.integers(1, 3)),
        st.builds(lambda q: ("restock", q), st.integers(-1, 5)),
        st.builds(
            lambda o, m, q: ("reserve", o, m, q),
            st.integers(0, 30),
            st.integers(1, 6),
            st.integers(-1, 4),
        ),
    ),
    max_size=80,
)


def as_record(spec: tuple[Any, ...], at: float) -> Any:
    if spec[0] == "list":
        return listing(stock=spec[1], limit=spec[2], at=at)
    if spec[0] == "restock":
        return RestockProduct(product_id=7, qty=spec[1], at=at)
    return reserve(order_id=f"o-{spec[1]}", member_id=spec[2], qty=spec[3], at=at)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_invariants_hold_for_any_command_sequence(specs: list[tuple[Any, ...]]) -> None:
    table: dict[str, Any] = {}
    for offset, spec in enumerate(specs):
        step = handle(table.get, [Located(as_record(spec, T0 + offset), 0, offset)])
        table.update(step.writes)
        product = table[product_table_key(7)]
        assert product["remaining"] >= 0
        assert product["remaining"] + product["held"] + product["sold"] == product["stock"]
        units = {k: v["units"] for k, v in table.items() if k.startswith(MEMBER_PREFIX)}
        assert all(0 < n <= product["per_user_limit"] for n in units.values())
        assert sum(units.values()) == product["held"]


def test_a_command_for_an_unknown_order_changes_nothing() -> None:
    table: dict[str, Any] = {}
    table.update(handle(table.get, [Located(listing(), 0, 0)]).writes)
    before = table[product_table_key(7)]
    step = handle(table.get, [Located(ExpireOrder(product_id=7, order_id="o-1", at=T0), 0, 1)])
    assert step.outcomes == ["NOT_HANDLED"] and step.events == []
    assert {**step.product, "last_offset": 0} == before
