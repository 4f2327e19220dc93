"""What the API puts on stock-commands: a lone order bare, concurrent orders of one
product as one CommandBatch of whole ReserveOrders, which the agreed decoders read back."""

from __future__ import annotations

import json

from api.order_produces import record_value
from streams.records import CommandBatch, ReserveOrder, command_entries, decode_commands


def _order(n: int, product_id: int = 7) -> ReserveOrder:
    return ReserveOrder(
        product_id=product_id,
        order_id=f"o-{n}",
        member_id=100 + n,
        qty=1,
        amount=5000,
        hold_seconds=600,
        at=1_700_000_000.25 + n,
    )


def test_a_lone_order_is_sent_bare() -> None:
    value = record_value(7, [_order(1)])
    assert json.loads(value)["kind"] == "ReserveOrder"
    assert decode_commands(json.loads(value)) == [_order(1)]


def test_several_orders_are_one_batch_in_arrival_order() -> None:
    orders = [_order(n) for n in range(3)]
    data = json.loads(record_value(7, orders))
    assert data["kind"] == CommandBatch.__name__ and data["product_id"] == 7
    assert [c["order_id"] for c in command_entries(data)] == ["o-0", "o-1", "o-2"]
    assert all(c["kind"] == "ReserveOrder" for c in data["commands"])
    assert decode_commands(data) == orders
