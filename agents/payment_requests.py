"""What the payment agent reads and writes, as pure functions (no Kafka, no MySQL).

It acts on two order events: ``PaymentRequested`` (charge the order) and
``RefundRequested`` (give the charge back). Each answer becomes a PaymentEvent
for ``payment-events`` and a SettlePayment command for the stock agent (a batch's
settlements of one product in one CommandBatch record). Payment ids are ``uuid5``
of order and operation, so every retry or replay of a request yields the same id,
and the stock agent and MySQL recognise the duplicate.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faust

from agents.payment_gateway import CHARGE, REFUND, GatewayResult
from streams.records import MAX_BATCH_COMMANDS, CommandBatch, PaymentEvent, SettlePayment

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


def payment_event(request: PaymentRequest, result: GatewayResult) -> faust.Record:
    """The PaymentEvent (built from its fields: streams.shapes) of ``result``."""
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


def settle_records(settles: Sequence[SettlePayment]) -> list[tuple[int, Any]]:
    """(product id, value) of the ``stock-commands`` records that carry ``settles``: one
    CommandBatch a product (a lone settlement bare), in the order given, so the stock
    agent decides a product's settlements of a batch as one record."""
    by_product: dict[int, list[SettlePayment]] = {}
    for settle in settles:
        by_product.setdefault(settle.product_id, []).append(settle)
    records: list[tuple[int, Any]] = []
    for product_id, commands in by_product.items():
        for start in range(0, len(commands), MAX_BATCH_COMMANDS):
            chunk = commands[start : start + MAX_BATCH_COMMANDS]
            if len(chunk) == 1:
                records.append((product_id, chunk[0]))
            else:
                batch = CommandBatch(product_id=product_id, commands=[c.asdict() for c in chunk])
                records.append((product_id, batch))
    return records
