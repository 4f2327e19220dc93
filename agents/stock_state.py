"""What a stock decision reads and what its events look like.

Shared by the listing and reservation rules (agents/stock_rules.py) and the
checkout rules (agents/checkout_rules.py). Pure: no Faust, no Kafka.
"""

from __future__ import annotations

import dataclasses
import operator
from dataclasses import dataclass
from typing import Any

from streams.shapes import ORDER_EVENT_FIELDS, ORDER_FIELDS
from tables.stock_records import JsonObject, Order, Product


@dataclass(frozen=True)
class Located:
    """A command and its place in ``stock-commands``: its arrival order.

    ``index`` is its place in its record (a CommandBatch's list; 0 for a bare command).
    """

    body: Any
    partition: int
    offset: int
    index: int = 0

    @property
    def place(self) -> tuple[int, int, int]:
        return (self.partition, self.offset, self.index)


@dataclass(frozen=True)
class State:
    """What one decision reads: the product, the command's order (if known) and
    the units of the product the order's member already holds."""

    product: Product
    order: Order | None = None
    member_units: int = 0


# The order's fields in their order (streams.shapes), read in one call.
_order_values = operator.attrgetter(*ORDER_FIELDS)


def order_event(order: Order, command: Located, name: str) -> JsonObject:
    """The OrderEvent (streams.records) announcing the order's status after ``command``:
    its name, the order's fields, the command's place (ORDER_EVENT_FIELDS' order)."""
    values = (name, *_order_values(order), *command.place)
    return dict(zip(ORDER_EVENT_FIELDS, values, strict=True))


def transition(
    state: State, command: Located, now: float, name: str, **changes: Any
) -> tuple[State, list[JsonObject]]:
    """Move the state's order (``changes``) and announce it as event ``name``."""
    assert state.order is not None
    moved = dataclasses.replace(state.order, updated_at=now, **changes)
    event = order_event(moved, command, name)
    moved = dataclasses.replace(moved, events=(*moved.events, event))
    return dataclasses.replace(state, order=moved), [event]


def quietly(state: State, **changes: Any) -> tuple[State, list[JsonObject]]:
    """Change the order's bookkeeping without a new event."""
    assert state.order is not None
    return dataclasses.replace(state, order=dataclasses.replace(state.order, **changes)), []


def unchanged(state: State) -> tuple[State, list[JsonObject]]:
    """No change; repeat the order's latest event so that anyone waiting learns where it is."""
    return state, list(state.order.events[-1:]) if state.order is not None else []
