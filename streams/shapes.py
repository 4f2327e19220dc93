"""The order's and the payment's fields, each defined once.

Every layer that carries an order takes its fields from :class:`OrderFields`, in
this order, and adds only what is its own (topology.md, "Record shapes"):

- the ``order-events`` value (``streams.records.OrderEvent``): ``event`` first, the
  deciding command's place last (``ORDER_EVENT_TYPES``);
- the stock table's order (``tables.stock_records.Order``): ``payment``, ``events``;
- the ``orders`` row in MySQL (``storage.order_rows``, ``storage.orders``): ``status_rank``;
- the Redis hash (``storage.order_projection``): ``rank``;
- the HTTP view (``api.order_views``): nothing; times as RFC 3339.

Likewise :class:`PaymentFields` for the ``payment-events`` value and the
``payments`` row. tests/unit/test_record_shapes.py fails when a layer, the MySQL
schema, the OpenAPI document or a committed JSON Schema drifts from these. This
module imports nothing but the standard library (no Faust), so every layer can.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OrderFields:
    """An order as the pipeline shows it. Times are Unix epoch seconds."""

    order_id: str
    member_id: int
    product_id: int
    qty: int
    amount: int
    status: str  # streams.statuses
    reason: str | None  # why it was rejected (streams.statuses), else None
    created_at: float
    updated_at: float
    expires_at: float | None  # when a reservation's hold ends; None when not reserved


@dataclass(frozen=True)
class PaymentFields:
    """The gateway's answer for one order and operation; ``payment_id`` is
    deterministic per order and operation, so a replay is recognisably the same."""

    payment_id: str
    order_id: str
    product_id: int
    member_id: int
    operation: str  # CHARGE or REFUND
    status: str  # SUCCEEDED or FAILED
    amount: int
    at: float  # the gateway's recorded decision time


def field_types(shape: type) -> dict[str, Any]:
    """Each field of a dataclass and its type (``int``, ``float | None``...), in order."""
    hints = typing.get_type_hints(shape)
    return {field.name: hints[field.name] for field in dataclasses.fields(shape)}


def is_optional(annotation: Any) -> bool:
    """Whether the field may be None (``X | None``)."""
    return isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)


def base_type(annotation: Any) -> type:
    """The field's type without None: ``float`` for ``float | None``."""
    if not is_optional(annotation):
        return typing.cast(type, annotation)
    (kind,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
    return typing.cast(type, kind)


ORDER_TYPES = field_types(OrderFields)
ORDER_FIELDS = tuple(ORDER_TYPES)
# The order's times (epoch seconds here; DATETIME(6) in MySQL, RFC 3339 over HTTP).
ORDER_TIMES = tuple(name for name, kind in ORDER_TYPES.items() if base_type(kind) is float)

# An order-events value: what happened (``event``, first), the order after it, and
# where the deciding command sits in stock-commands (last; ``command_index`` is its
# place in a CommandBatch, 0 for a bare command): the order's arrival for
# first-come-first-served checks.
ORDER_EVENT_TYPES: dict[str, Any] = {
    "event": str,
    **ORDER_TYPES,
    "command_partition": int,
    "command_offset": int,
    "command_index": int,
}
ORDER_EVENT_FIELDS = tuple(ORDER_EVENT_TYPES)

PAYMENT_TYPES = field_types(PaymentFields)
PAYMENT_FIELDS = tuple(PAYMENT_TYPES)
# A payment-events value: what happened (PaymentSucceeded, ...), then the payment.
PAYMENT_EVENT_TYPES: dict[str, Any] = {"event": str, **PAYMENT_TYPES}
