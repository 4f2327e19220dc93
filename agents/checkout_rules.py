"""The checkout rules: paying, cancelling, expiring and settling payments.

Pure, like agents/stock_rules.py, and decided by the same single writer, so a
payment that races the hold's expiry is settled one way only: whichever command
comes first in the product's partition wins, and a charge that succeeds for an
order that has already expired or been cancelled is refunded.

Every path out of RESERVED or PAID other than PAID returns the order's units to
stock here, exactly once: the transition that returns them moves the order to a
final status, and no rule moves a final status again.

Payment bookkeeping (``Order.payment``): NONE → CHARGING (buyer asked to pay) →
CHARGED (paid) → REFUNDING → REFUNDED; a declined charge goes back to NONE.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from agents.stock_state import Located, State, quietly, transition, unchanged
from streams.statuses import CANCELLED, EXPIRED, PAID, PAYMENT_FAILED, REFUNDED, RESERVED
from tables.stock_records import JsonObject, Product

NONE, CHARGING, CHARGED, REFUNDING, DONE = "NONE", "CHARGING", "CHARGED", "REFUNDING", "REFUNDED"

PAYMENT_REQUESTED = "PaymentRequested"
ORDER_PAID = "OrderPaid"
ORDER_PAYMENT_FAILED = "OrderPaymentFailed"
ORDER_CANCELLED = "OrderCancelled"
ORDER_EXPIRED = "OrderExpired"
REFUND_REQUESTED = "RefundRequested"
ORDER_REFUNDED = "OrderRefunded"

Decision = tuple[State, list[JsonObject]]


def _release(state: State, from_sold: bool = False) -> State:
    """The order's units back on sale; the member may order them again."""
    assert state.order is not None
    qty, product = state.order.qty, state.product
    if from_sold:
        product = dataclasses.replace(product, sold=product.sold - qty)
    else:
        product = dataclasses.replace(product, held=product.held - qty)
    product = dataclasses.replace(product, remaining=product.remaining + qty)
    return State(product, state.order, state.member_units - qty)


def _sell(product: Product, qty: int) -> Product:
    return dataclasses.replace(product, held=product.held - qty, sold=product.sold + qty)


def _expire(state: State, command: Located, now: float) -> Decision:
    return transition(_release(state), command, now, ORDER_EXPIRED, status=EXPIRED)


def pay(state: State, command: Located, now: float) -> Decision:
    order = state.order
    if order is None or order.member_id != command.body.member_id:
        return unchanged(state)
    if order.status != RESERVED or order.payment != NONE:
        return unchanged(state)
    if order.expires_at is not None and now >= order.expires_at:
        return _expire(state, command, now)  # the hold ran out before the buyer paid
    return transition(state, command, now, PAYMENT_REQUESTED, payment=CHARGING)


def cancel(state: State, command: Located, now: float) -> Decision:
    order = state.order
    if order is None or order.member_id != command.body.member_id:
        return unchanged(state)
    if order.status == RESERVED:
        # A charge still in flight is refunded when it settles (see settle_charge).
        return transition(_release(state), command, now, ORDER_CANCELLED, status=CANCELLED)
    if order.status == PAID and order.payment == CHARGED:
        return transition(state, command, now, REFUND_REQUESTED, payment=REFUNDING)
    return unchanged(state)


def expire(state: State, command: Located, now: float) -> Decision:
    order = state.order
    if order is None or order.status != RESERVED or order.expires_at is None:
        return unchanged(state)
    if now < order.expires_at:
        return unchanged(state)
    return _expire(state, command, now)


def settle(state: State, command: Located, now: float) -> Decision:
    body: Any = command.body
    if state.order is None:
        return unchanged(state)
    if body.operation == "CHARGE":
        return _settle_charge(state, command, now, body.succeeded)
    return _settle_refund(state, command, now, body.succeeded)


def _settle_charge(state: State, command: Located, now: float, succeeded: bool) -> Decision:
    order = state.order
    assert order is not None
    if order.payment != CHARGING:
        return unchanged(state)  # a repeated answer for a charge already settled
    if order.status == RESERVED and succeeded:
        sold = State(_sell(state.product, order.qty), order, state.member_units)
        return transition(sold, command, now, ORDER_PAID, status=PAID, payment=CHARGED)
    if order.status == RESERVED:
        released = _release(state)
        return transition(
            released, command, now, ORDER_PAYMENT_FAILED, status=PAYMENT_FAILED, payment=NONE
        )
    if succeeded:
        # The hold expired or was cancelled while the charge was in flight: no
        # charge may be kept for an order that did not get its units.
        return transition(state, command, now, REFUND_REQUESTED, payment=REFUNDING)
    return quietly(state, payment=NONE)


def _settle_refund(state: State, command: Located, now: float, succeeded: bool) -> Decision:
    order = state.order
    assert order is not None
    if order.payment != REFUNDING:
        return unchanged(state)
    if not succeeded:
        # The gateway keeps its answer per order, so asking again would not help:
        # the order stays REFUNDING, and the audit reports its unrefunded charge.
        return unchanged(state)
    if order.status == PAID:
        released = _release(state, from_sold=True)
        return transition(released, command, now, ORDER_REFUNDED, status=REFUNDED, payment=DONE)
    return quietly(state, payment=DONE)
