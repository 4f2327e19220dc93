"""Invariant 6, first come first served, as a pure check over arrivals.

For one product, an order whose command reached Kafka earlier (lower offset in
the product's partition of ``stock-commands``) must never be rejected as
``SOLD_OUT`` while a later order for the same or a larger ``qty`` is reserved,
unless stock came back in between (a restock, or a cancel, expiry, payment
failure or refund releasing units). Places come from the OrderEvents, which
carry the offset of the command that caused them and its index in its record (a
CommandBatch decides its commands in list order); all commands of a product
share one partition, so a product's places (offset, index) are comparable.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ops.audit_checks.invariants import Violation
from streams.statuses import RESERVED, SOLD_OUT

# Where a command sits in its product's partition: (offset, index in its record).
Place = tuple[int, int]

RETURNING_EVENTS = frozenset(
    {"OrderPaymentFailed", "OrderCancelled", "OrderExpired", "OrderRefunded"}
)


@dataclass(frozen=True)
class Arrival:
    """An order's first decision: ``outcome`` is RESERVED or the rejection reason."""

    order_id: str
    product_id: int
    qty: int
    place: Place
    outcome: str


def event_place(event: Mapping[str, Any]) -> Place:
    """The place of the command that caused ``event`` (index 0 before batches existed)."""
    return (int(event["command_offset"]), int(event.get("command_index", 0)))


def arrivals_from_events(
    events: Iterable[Mapping[str, Any]],
) -> tuple[list[Arrival], dict[int, list[Place]]]:
    """Arrivals (first decision per order) and stock-return places per product."""
    arrivals: dict[str, Arrival] = {}
    returns: dict[int, set[Place]] = defaultdict(set)
    for event in events:
        name, pid, place = event["event"], int(event["product_id"]), event_place(event)
        if name in ("OrderReserved", "OrderRejected") and event["order_id"] not in arrivals:
            outcome = RESERVED if name == "OrderReserved" else str(event["reason"])
            arrivals[event["order_id"]] = Arrival(
                event["order_id"], pid, int(event["qty"]), place, outcome
            )
        elif name in RETURNING_EVENTS:
            returns[pid].add(place)
    return list(arrivals.values()), {pid: sorted(found) for pid, found in returns.items()}


def _served_later(
    rejected: Arrival,
    reserved: Sequence[Arrival],
    places: Sequence[Place],
    returns: Sequence[Place],
) -> Arrival | None:
    """A later reservation of at least ``rejected.qty`` before stock next came back.

    ``reserved`` is sorted by place and ``places`` are its places.
    """
    after = bisect.bisect_right(returns, rejected.place)
    until = returns[after] if after < len(returns) else None
    lo = bisect.bisect_right(places, rejected.place)
    hi = len(places) if until is None else bisect.bisect_left(places, until)
    return next((a for a in reserved[lo:hi] if a.qty >= rejected.qty), None)


def check_first_come(
    arrivals: Iterable[Arrival], stock_returns: Mapping[int, Sequence[Place]]
) -> list[Violation]:
    """6. no SOLD_OUT rejection followed by a reservation the rejected order should have had.

    ``stock_returns`` holds, per product, the command places at which stock came
    back: those ``arrivals_from_events`` finds, plus those of RestockProduct commands.
    """
    by_product: dict[int, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        by_product[arrival.product_id].append(arrival)
    found = []
    for pid, items in sorted(by_product.items()):
        reserved = sorted((a for a in items if a.outcome == RESERVED), key=lambda a: a.place)
        places = [a.place for a in reserved]
        returns = sorted(stock_returns.get(pid, ()))
        for rejected in sorted(items, key=lambda a: a.place):
            if rejected.outcome != SOLD_OUT:
                continue
            later = _served_later(rejected, reserved, places, returns)
            if later is not None:
                detail = (
                    f"SOLD_OUT at {_where(rejected.place)}, but order {later.order_id}"
                    f" (qty {later.qty}) reserved at {_where(later.place)}"
                )
                found.append(Violation(6, "SERVED_OUT_OF_ORDER", detail, pid, rejected.order_id))
    return found


def _where(place: Place) -> str:
    offset, index = place
    return f"offset {offset}" if index == 0 else f"offset {offset}, index {index}"
