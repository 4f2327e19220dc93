"""What the payment agent reads and writes, as pure functions (no Kafka, no MySQL).

It acts on two order events: ``PaymentRequested`` (charge the order) and
``RefundRequested`` (give the charge back). Each answer becomes a PaymentEvent
for ``payment-events`` and a SettlePayment command for the stock agent. Payment
ids are ``uuid5`` of order and operation, so every retry or replay of a request
yields the same id, and the stock agent and MySQL recognise the duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from storage.payment_gateway import CHARGE, REFUND, GatewayResult
from streams.records import PaymentEvent, SettlePayment

log = logging.getLogger(__name__)

OPERATION_OF_EVENT = {"PaymentRequested": CHARGE, "RefundRequested": REFUND}
# What a PaymentEvent's ``event`` says (a failed refund is PaymentFailed with REFUND).
PAYMENT_SUCCEEDED, PAYMENT_FAILED, PAYMENT_REFUNDED = (
    "PaymentSucceeded",
    "PaymentFailed",
    "PaymentRefunded",
)
PAYMENT_EVENT_NAMES = (PAYMENT_SUCCEEDED, PAYMENT_FAILED, PAYMENT_REFUNDED)
PAYMENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:flashsale:payments")


@dataclass(frozen=True)
class PaymentRequest:
    order_id: str
    product_id: int
    member_id: int
    amount: int
    operation: str


def payment_request(event: Mapping[str, Any]) -> PaymentRequest | None:
    """The charge or refund an OrderEvent asks for; None for every other event."""
    operation = (
        OPERATION_OF_EVENT.get(event.get("event", "")) if isinstance(event, Mapping) else None
    )
    if operation is None:
        return None
    try:
        return PaymentRequest(
            order_id=str(event["order_id"]),
            product_id=int(event["product_id"]),
            member_id=int(event["member_id"]),
            amount=int(event["amount"]),
            operation=operation,
        )
    except (KeyError, TypeError, ValueError):
        log.error("skipping a malformed payment request: %.300r", event)
        return None


def by_order(requests: Iterable[PaymentRequest]) -> list[list[PaymentRequest]]:
    """Requests grouped by order, in arrival order within and across groups.

    A request repeated within the batch (a duplicate delivery) is kept once: the
    gateway would answer it identically anyway.
    """
    groups: dict[str, list[PaymentRequest]] = {}
    for request in requests:
        group = groups.setdefault(request.order_id, [])
        if request not in group:
            group.append(request)
    return list(groups.values())


def payment_id(order_id: str, operation: str) -> str:
    return str(uuid.uuid5(PAYMENT_ID_NAMESPACE, f"{order_id}/{operation}"))


def event_name(result: GatewayResult) -> str:
    if not result.succeeded:
        return PAYMENT_FAILED
    return PAYMENT_SUCCEEDED if result.operation == CHARGE else PAYMENT_REFUNDED


def payment_event(request: PaymentRequest, result: GatewayResult) -> PaymentEvent:
    return PaymentEvent(
        event=event_name(result),
        payment_id=payment_id(request.order_id, result.operation),
        order_id=request.order_id,
        product_id=request.product_id,
        member_id=request.member_id,
        operation=result.operation,
        status=result.status,
        amount=result.amount,
        at=result.decided_at,
    )


def settle_command(request: PaymentRequest, result: GatewayResult) -> SettlePayment:
    # The time is the gateway's recorded decision time, so a replayed request
    # produces a command identical to the first one.
    return SettlePayment(
        product_id=request.product_id,
        order_id=request.order_id,
        operation=result.operation,
        succeeded=result.succeeded,
        payment_id=payment_id(request.order_id, result.operation),
        at=result.decided_at,
    )
