"""The stock decision: ``decide(state, command, now) -> (new_state, events)``.

Pure: no Faust, no Kafka, no clock. ``now`` is the time the command carries, so
deciding the same command against the same state always gives the same result,
which is what makes a replay after a crash harmless (see agents/stock_replay.py).

Rules for an order, in this order: the product must be listed and ``now`` within
``[sale_starts_at, sale_ends_at)`` (else SALE_NOT_ACTIVE); ``qty`` plus the units
the member already holds must not exceed ``per_user_limit`` (else LIMIT_EXCEEDED);
``qty`` must not exceed ``remaining`` (else SOLD_OUT). A known order id changes
nothing and repeats the order's latest event.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from agents import checkout_rules
from agents.stock_state import Located, State, order_event
from streams.statuses import LIMIT_EXCEEDED, REJECTED, RESERVED, SALE_NOT_ACTIVE, SOLD_OUT
from tables.stock_records import JsonObject, Order, Product

__all__ = ["Located", "State", "decide", "rejection"]

if TYPE_CHECKING:
    from streams.records import ListProduct, ReserveOrder, RestockProduct

    Command = ListProduct | RestockProduct | ReserveOrder

ORDER_RESERVED = "OrderReserved"
ORDER_REJECTED = "OrderRejected"


CHECKOUT_RULES = {
    "PayOrder": checkout_rules.pay,
    "CancelOrder": checkout_rules.cancel,
    "ExpireOrder": checkout_rules.expire,
    "SettlePayment": checkout_rules.settle,
}


def decide(state: State, command: Located, now: float) -> tuple[State, list[JsonObject]]:
    body: Any = command.body
    if body.kind == "ListProduct":
        return dataclasses.replace(state, product=_listed(state.product, body)), []
    if body.kind == "RestockProduct":
        return dataclasses.replace(state, product=_restocked(state.product, body.qty)), []
    if body.kind == "ReserveOrder":
        return _reserve(state, command, now)
    if body.kind in CHECKOUT_RULES:
        return CHECKOUT_RULES[body.kind](state, command, now)
    return state, []


def _listed(product: Product, body: ListProduct) -> Product:
    if product.listed:
        return product  # listing is idempotent: a second listing changes nothing
    added = max(body.stock, 0)
    # Counters of a product never listed are zero unless a restock came first;
    # keep them, so no unit is ever dropped.
    return dataclasses.replace(
        product,
        listed=True,
        stock=product.stock + added,
        remaining=product.remaining + added,
        per_user_limit=body.per_user_limit,
        price=body.price,
        sale_price=body.sale_price,
        sale_starts_at=body.sale_starts_at,
        sale_ends_at=body.sale_ends_at,
    )


def _restocked(product: Product, qty: int) -> Product:
    if qty < 1:
        return product
    return dataclasses.replace(
        product, stock=product.stock + qty, remaining=product.remaining + qty
    )


def on_sale(product: Product, now: float) -> bool:
    if not product.listed:
        return False
    if product.sale_starts_at is not None and now < product.sale_starts_at:
        return False
    return product.sale_ends_at is None or now < product.sale_ends_at


def rejection(state: State, qty: int, now: float) -> str | None:
    """Why an order of ``qty`` units cannot be reserved now; None if it can."""
    product = state.product
    if not on_sale(product, now):
        return SALE_NOT_ACTIVE
    if qty < 1 or state.member_units + qty > product.per_user_limit:
        return LIMIT_EXCEEDED
    if qty > product.remaining:
        return SOLD_OUT
    return None


def _reserve(state: State, command: Located, now: float) -> tuple[State, list[JsonObject]]:
    body: ReserveOrder = command.body
    if state.order is not None:
        # A redelivered or retried order: nothing changes, its outcome is repeated.
        return state, list(state.order.events[-1:])
    reason = rejection(state, body.qty, now)
    if reason is not None:
        order = _order(body, command, now, REJECTED, reason, None)
        return dataclasses.replace(state, order=order), list(order.events)
    product = dataclasses.replace(
        state.product,
        remaining=state.product.remaining - body.qty,
        held=state.product.held + body.qty,
    )
    order = _order(body, command, now, RESERVED, None, body.at + body.hold_seconds)
    new_state = State(product, order, state.member_units + body.qty)
    return new_state, list(order.events)


def _order(
    body: ReserveOrder,
    command: Located,
    now: float,
    status: str,
    reason: str | None,
    expires_at: float | None,
) -> Order:
    order = Order(
        order_id=body.order_id,
        member_id=body.member_id,
        product_id=body.product_id,
        qty=body.qty,
        amount=body.amount,
        status=status,
        reason=reason,
        created_at=body.at,
        updated_at=now,
        expires_at=expires_at,
    )
    name = ORDER_RESERVED if status == RESERVED else ORDER_REJECTED
    return dataclasses.replace(order, events=(order_event(order, command, name),))
