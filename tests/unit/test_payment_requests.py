"""The payment agent's pure parts: which events it acts on, grouping, the records it sends."""

from __future__ import annotations

import json
from typing import Any

from agents.payment_gateway import CHARGE, FAILED, REFUND, SUCCEEDED, GatewayResult
from agents.payment_requests import (
    PaymentRequest,
    by_order,
    payment_event,
    payment_id,
    payment_request,
    settle_command,
    settle_records,
)
from streams.records import MAX_BATCH_COMMANDS, SettlePayment, decode_commands


def _event(name: str, order_id: str = "o-1", **extra: Any) -> dict[str, Any]:
    base = {
        "event": name,
        "order_id": order_id,
        "member_id": 7,
        "product_id": 3,
        "qty": 1,
        "amount": 5000,
        "status": "RESERVED",
        "reason": None,
        "created_at": 1.0,
        "updated_at": 2.0,
        "expires_at": 301.0,
        "command_partition": 0,
        "command_offset": 12,
    }
    return {**base, **extra}


def test_acts_on_payment_and_refund_requests_only() -> None:
    assert payment_request(_event("PaymentRequested")) == PaymentRequest("o-1", 3, 7, 5000, CHARGE)
    assert payment_request(_event("RefundRequested")) == PaymentRequest("o-1", 3, 7, 5000, REFUND)
    for other in ("OrderReserved", "OrderPaid", "OrderRefunded", "OrderExpired", ""):
        assert payment_request(_event(other)) is None


def test_a_malformed_request_is_skipped() -> None:
    assert payment_request(_event("PaymentRequested", amount="lots")) is None
    assert payment_request({"event": "PaymentRequested"}) is None


def test_groups_keep_each_orders_requests_in_order_and_drop_repeats() -> None:
    a_charge, a_refund = (
        PaymentRequest("a", 1, 1, 10, CHARGE),
        PaymentRequest("a", 1, 1, 10, REFUND),
    )
    b_charge = PaymentRequest("b", 2, 2, 20, CHARGE)
    groups = by_order([a_charge, b_charge, a_charge, a_refund, b_charge])
    assert groups == [[a_charge, a_refund], [b_charge]]


def test_payment_ids_are_deterministic_per_order_and_operation() -> None:
    assert payment_id("o-1", CHARGE) == payment_id("o-1", CHARGE)
    assert (
        len({payment_id("o-1", CHARGE), payment_id("o-1", REFUND), payment_id("o-2", CHARGE)}) == 3
    )


def test_records_carry_the_ledgers_outcome() -> None:
    request = PaymentRequest("o-1", 3, 7, 5000, CHARGE)
    cases = [
        (GatewayResult("o-1", CHARGE, SUCCEEDED, 5000, 9.5), "PaymentSucceeded", True),
        (GatewayResult("o-1", CHARGE, FAILED, 5000, 9.5), "PaymentFailed", False),
        (GatewayResult("o-1", REFUND, SUCCEEDED, 5000, 9.5), "PaymentRefunded", True),
        (GatewayResult("o-1", REFUND, FAILED, 5000, 9.5), "PaymentFailed", False),
    ]
    for result, name, succeeded in cases:
        event = json.loads(payment_event(request, result).dumps())
        assert event["event"] == name
        assert event["payment_id"] == payment_id("o-1", result.operation)
        assert (event["operation"], event["status"], event["at"]) == (
            result.operation,
            result.status,
            9.5,
        )
        command = json.loads(settle_command(request, result).dumps())
        assert command["kind"] == "SettlePayment"
        assert command["succeeded"] is succeeded
        assert command["payment_id"] == event["payment_id"]
        assert (command["product_id"], command["order_id"], command["at"]) == (3, "o-1", 9.5)


def test_settlements_travel_one_record_a_product_in_order() -> None:
    def settle(product_id: int, order_id: str, operation: str = CHARGE) -> SettlePayment:
        request = PaymentRequest(order_id, product_id, 7, 5000, operation)
        return settle_command(request, GatewayResult(order_id, operation, SUCCEEDED, 5000, 9.5))

    settles = [settle(3, "a"), settle(4, "b"), settle(3, "c"), settle(3, "a", REFUND)]
    records = settle_records(settles)
    assert [product_id for product_id, _ in records] == [3, 4]
    (_, batch), (_, lone) = records
    assert lone == settles[1], "a lone settlement goes bare"
    data = json.loads(batch.dumps())
    assert data["kind"] == "CommandBatch" and data["product_id"] == 3
    decoded = decode_commands(data)
    assert [(c.order_id, c.operation) for c in decoded] == [  # type: ignore[attr-defined]
        ("a", CHARGE),
        ("c", CHARGE),
        ("a", REFUND),
    ]
    many = settle_records([settle(5, f"o-{n}") for n in range(MAX_BATCH_COMMANDS + 1)])
    assert [len(json.loads(v.dumps()).get("commands", [v])) for _, v in many] == [
        MAX_BATCH_COMMANDS,
        1,
    ]
