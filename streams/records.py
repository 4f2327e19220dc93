"""Typed records of the pipeline's topics, readable by any JSON consumer.

Commands are imperative and go to ``stock-commands`` (keyed by product); their
``kind`` field names the class, so one topic carries several commands in order.
Events are past tense and go to ``order-events``. Times are Unix epoch seconds
(float) taken from the producer's clock; the stock agent decides with the time a
command carries, never with its own clock, so a replay decides identically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust

from streams.shapes import ORDER_EVENT_TYPES, PAYMENT_EVENT_TYPES


class _Json(
    faust.Record, serializer="json", validation=True, include_metadata=False, abstract=True
):
    pass


class ListProduct(_Json):
    """Put a product on sale with its initial stock and sale window."""

    product_id: int
    stock: int
    per_user_limit: int
    price: int
    sale_price: int
    sale_starts_at: float | None
    sale_ends_at: float | None
    at: float
    kind: str = "ListProduct"


class RestockProduct(_Json):
    """Add ``qty`` units to a listed product."""

    product_id: int
    qty: int
    at: float
    kind: str = "RestockProduct"


class ReserveOrder(_Json):
    """A buyer's order: reserve ``qty`` units for ``order_id`` if stock and rules allow."""

    product_id: int
    order_id: str
    member_id: int
    qty: int
    amount: int
    # The hold comes with the command, so a replay computes the same expiry.
    hold_seconds: int
    at: float
    kind: str = "ReserveOrder"


class PayOrder(_Json):
    """The buyer pays a RESERVED order: the stock agent asks the payment agent to charge."""

    product_id: int
    order_id: str
    member_id: int
    at: float
    kind: str = "PayOrder"


class CancelOrder(_Json):
    """The buyer cancels: a RESERVED order is released, a PAID one refunded."""

    product_id: int
    order_id: str
    member_id: int
    at: float
    kind: str = "CancelOrder"


class ExpireOrder(_Json):
    """Time ``at`` has come for an order's hold; it expires if still unpaid by then."""

    product_id: int
    order_id: str
    at: float
    kind: str = "ExpireOrder"


class SettlePayment(_Json):
    """The gateway's answer for an order's charge or refund (``operation``)."""

    product_id: int
    order_id: str
    operation: str  # CHARGE or REFUND
    succeeded: bool
    payment_id: str
    at: float
    kind: str = "SettlePayment"


class CommandBatch(_Json):
    """Several commands for one product in one record, decided in list order.

    The API packs the orders that arrive for one product while its previous
    produce is in flight (topology.md, "Command records"); the stock agent
    decides the record as one batch. Each entry is a whole command of a kind
    above (never another batch), with this ``product_id``; its place in the
    arrival order is (partition, offset, index in ``commands``).
    """

    product_id: int
    commands: list[dict[str, Any]]
    kind: str = "CommandBatch"


# The most commands one CommandBatch carries (about 250 bytes each: well under
# Kafka's 1 MiB record limit).
MAX_BATCH_COMMANDS = 500

COMMANDS: dict[str, type[_Json]] = {
    cls.__name__: cls
    for cls in (
        ListProduct,
        RestockProduct,
        ReserveOrder,
        PayOrder,
        CancelOrder,
        ExpireOrder,
        SettlePayment,
        CommandBatch,
    )
}


class UnknownCommand(ValueError):
    """A stock command whose ``kind`` no version of this code knows."""


# Field types whose values Faust's coercion leaves as they are when already of that type.
_PLAIN_TYPES = (int, float, str, bool)
_MISSING = object()
# A class's field names, and each field's (name, type, default or _MISSING).
PlainFields = tuple[frozenset[str], tuple[tuple[str, Any, Any], ...]]


def _plain_fields(cls: type[_Json]) -> PlainFields | None:
    """``cls``'s fields when every one is of a plain type; None otherwise (such a class
    is always decoded by Faust)."""
    descriptors = cls._options.descriptors
    if any(d.type not in _PLAIN_TYPES for d in descriptors.values()):
        return None
    fields = tuple(
        (name, d.type, _MISSING if d.required else d.default) for name, d in descriptors.items()
    )
    return frozenset(descriptors), fields


_PLAIN = {name: _plain_fields(cls) for name, cls in COMMANDS.items()}


def _as_is(cls: type[_Json], data: Mapping[str, Any]) -> _Json | None:
    """The record ``cls.from_data(data)`` makes, built directly, when ``data`` holds
    only the class's fields, each already of its exact type (bool is not taken for
    int): Faust's coercion and validation then change nothing, and its per-field
    machinery cost 6 µs a command, a tenth of a decision. None otherwise, and Faust
    decodes it (coercing, or refusing)."""
    plain = _PLAIN[cls.__name__]
    if plain is None:
        return None
    names, fields = plain
    if not names.issuperset(data):
        return None
    values: dict[str, Any] = {"__evaluated_fields__": set()}
    for name, kind, default in fields:
        value = data.get(name, default)
        if type(value) is not kind:
            return None
        values[name] = value
    record = cls.__new__(cls)
    record.__dict__.update(values)
    return record


def decode_command(data: Mapping[str, Any]) -> _Json:
    try:
        cls = COMMANDS[data["kind"]]
    except (KeyError, TypeError) as exc:
        raise UnknownCommand(f"unknown stock command: {data!r:.200}") from exc
    record = _as_is(cls, data)
    return cls.from_data(dict(data)) if record is None else record


def command_entries(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The commands one ``stock-commands`` value carries, in arrival order.

    A bare command is a list of one; a CommandBatch is its ``commands``. For
    readers that only look (audit, bench); the stock agent decodes each entry.
    """
    if isinstance(data, Mapping) and data.get("kind") == CommandBatch.__name__:
        commands = data.get("commands")
        return [c for c in commands if isinstance(c, Mapping)] if isinstance(commands, list) else []
    return [data]


def decode_commands(data: Mapping[str, Any]) -> list[_Json]:
    """Every command of one ``stock-commands`` value, decoded, in arrival order.

    Raises UnknownCommand (or the record's own ValueError) when any entry is not a
    command, or a batch mixes products or nests a batch: such a record is skipped
    whole, so no part of it is decided.
    """
    if not (isinstance(data, Mapping) and data.get("kind") == CommandBatch.__name__):
        return [decode_command(data)]
    batch = CommandBatch.from_data(dict(data))
    if not 1 <= len(batch.commands) <= MAX_BATCH_COMMANDS:
        raise UnknownCommand(f"a CommandBatch carries 1 to {MAX_BATCH_COMMANDS} commands")
    bodies = [decode_command(entry) for entry in batch.commands]
    for body in bodies:
        if isinstance(body, CommandBatch) or getattr(body, "product_id", None) != batch.product_id:
            raise UnknownCommand(f"not a command of the batch's product: {body!r:.200}")
    return bodies


def _record(name: str, doc: str, fields: Mapping[str, Any], **defaults: Any) -> type[_Json]:
    """A record class with ``fields`` (name: type), in that order (streams.shapes)."""
    namespace = {"__module__": __name__, "__qualname__": name, "__doc__": doc}
    return type(name, (_Json,), {**namespace, "__annotations__": dict(fields), **defaults})


# Never instantiated (the stock agent sends plain dicts of the same fields, in the
# same order: agents/stock_state.order_event); it describes the topic's values, and
# ops/record_schemas.py their JSON Schema.
OrderEvent = _record(
    "OrderEvent",
    """Something happened to an order; ``event`` names what (e.g. ``OrderReserved``).

    The order's fields (streams.shapes.OrderFields), ``status`` the one after the
    event; ``command_partition``, ``command_offset`` (and ``command_index`` within a
    CommandBatch) place the stock command that caused it in ``stock-commands``
    (arrival order, for first-come-first-served checks).
    """,
    ORDER_EVENT_TYPES,
    command_index=0,
)

PaymentEvent = _record(
    "PaymentEvent",
    """The payment gateway charged or refunded an order (``event``: PaymentSucceeded,
    PaymentFailed, PaymentRefunded), then the payment (streams.shapes.PaymentFields).""",
    PAYMENT_EVENT_TYPES,
)
