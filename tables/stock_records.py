"""The values of the stock table, and the keys they live under.

One table holds everything a stock decision reads, so that every write of one
command lands on one changelog partition, in the order it was made (see
topology.md, "Why a crash cannot oversell"). Keys carry a kind prefix:

- ``p:{product_id}``: a :class:`Product`, plus ``last_offset`` (the offset of the
  last command applied to it) and ``pending`` (the other records that command wrote);
- ``o:{order_id}``: an :class:`Order`, with every OrderEvent it caused;
- ``m:{product_id}:{member_id}``: ``{"units": n}``, units the member holds
  (reserved or paid) of the product.

Values are plain JSON objects. This module imports no Faust (nor does
streams.shapes), so the decision rules and their tests use it as is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.shapes import OrderFields

PRODUCT_PREFIX = "p:"
ORDER_PREFIX = "o:"
MEMBER_PREFIX = "m:"

# A table value, an event or a summary: a plain JSON object (not a faust.Record).
JsonObject = dict[str, Any]


def product_table_key(product_id: int) -> str:
    return f"{PRODUCT_PREFIX}{product_id}"


def order_table_key(order_id: str) -> str:
    return f"{ORDER_PREFIX}{order_id}"


def member_table_key(product_id: int, member_id: int) -> str:
    return f"{MEMBER_PREFIX}{product_id}:{member_id}"


@dataclass(frozen=True)
class Product:
    """A product's counters and sale rules. Always remaining + held + sold == stock."""

    product_id: int
    listed: bool = False
    stock: int = 0
    remaining: int = 0
    held: int = 0
    sold: int = 0
    per_user_limit: int = 0
    price: int = 0
    sale_price: int = 0
    sale_starts_at: float | None = None
    sale_ends_at: float | None = None


@dataclass(frozen=True)
class Order(OrderFields):
    """An order as the stock agent knows it: the order's fields (streams.shapes), and
    what only the table keeps: ``events``, all it ever emitted, and ``payment``."""

    # Where the order's money stands (agents/checkout_rules.py); outside, only
    # ``status`` shows: a charge in flight leaves the order RESERVED.
    payment: str = "NONE"
    events: tuple[JsonObject, ...] = field(default=())


_PRODUCT_FIELDS = tuple(f.name for f in dataclasses.fields(Product))
_ORDER_FIELDS = tuple(f.name for f in dataclasses.fields(Order))


def product_from_record(product_id: int, record: Mapping[str, Any] | None) -> Product:
    """The product stored in ``record``; an unlisted, empty product if there is none."""
    if record is None:
        return Product(product_id)
    return Product(**{name: record[name] for name in _PRODUCT_FIELDS})


def product_to_record(product: Product, last_offset: int, pending: list[list[Any]]) -> JsonObject:
    return {**dataclasses.asdict(product), "last_offset": last_offset, "pending": pending}


def order_from_record(record: Mapping[str, Any] | None) -> Order | None:
    if record is None:
        return None
    # Fields added later (payment) take their defaults in records written before.
    values = {name: record[name] for name in _ORDER_FIELDS if name in record}
    values["events"] = tuple(record["events"])
    return Order(**values)


def order_to_record(order: Order) -> JsonObject:
    record = {name: getattr(order, name) for name in _ORDER_FIELDS}
    record["events"] = list(order.events)
    return record


def member_units(record: Mapping[str, Any] | None) -> int:
    return 0 if record is None else int(record["units"])


def member_record(units: int) -> JsonObject:
    return {"units": units}


def stock_summary(record: Mapping[str, Any]) -> JsonObject:
    """What inspection and the Redis projection show of a product record."""
    names = ("product_id", "listed", "stock", "remaining", "held", "sold", "last_offset")
    return {name: record[name] for name in names}
