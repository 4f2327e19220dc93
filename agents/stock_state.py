"""What a stock decision reads and what its events look like.

Shared by the listing and reservation rules (agents/stock_rules.py) and the
checkout rules (agents/checkout_rules.py). Pure: no Faust, no Kafka.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

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


def order_event(order: Order, command: Located, name: str) -> JsonObject:
    """The OrderEvent (streams.records) announcing the order's status after ``command``."""
    return {
        "event": name,
        "order_id": order.order_id,
        "member_id": order.member_id,
        "product_id": order.product_id,
        "qty": order.qty,
        "amount": order.amount,
        "status": order.status,
        "reason": order.reason,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "expires_at": order.expires_at,
        "command_partition": command.partition,
        "command_offset": command.offset,
        "command_index": command.index,
    }


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
