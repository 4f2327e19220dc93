"""Invariant 6, first come first served, as a pure check over arrivals.

For one product, an order whose command reached Kafka earlier (lower offset in
the product's partition of ``stock-commands``) must never be rejected as
``SOLD_OUT`` while a later order for the same or a larger ``qty`` is reserved,
unless stock came back in between (a restock, or a cancel, expiry, payment
failure or refund releasing units). Offsets come from the OrderEvents, which
carry the offset of the command that caused them; all commands of a product
share one partition, so a product's offsets are comparable.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.invariants import Violation
from streams.statuses import RESERVED, SOLD_OUT

RETURNING_EVENTS = frozenset(
    {"OrderPaymentFailed", "OrderCancelled", "OrderExpired", "OrderRefunded"}
)


@dataclass(frozen=True)
class Arrival:
    """An order's first decision: ``outcome`` is RESERVED or the rejection reason."""

    order_id: str
    product_id: int
    qty: int
    offset: int
    outcome: str


def arrivals_from_events(
    events: Iterable[Mapping[str, Any]],
) -> tuple[list[Arrival], dict[int, list[int]]]:
    """Arrivals (first decision per order) and stock-return offsets per product."""
    arrivals: dict[str, Arrival] = {}
    returns: dict[int, set[int]] = defaultdict(set)
    for event in events:
        name, pid, offset = event["event"], int(event["product_id"]), int(event["command_offset"])
        if name in ("OrderReserved", "OrderRejected") and event["order_id"] not in arrivals:
            outcome = RESERVED if name == "OrderReserved" else str(event["reason"])
            arrivals[event["order_id"]] = Arrival(
                event["order_id"], pid, int(event["qty"]), offset, outcome
            )
        elif name in RETURNING_EVENTS:
            returns[pid].add(offset)
    return list(arrivals.values()), {pid: sorted(found) for pid, found in returns.items()}


def _served_later(
    rejected: Arrival, reserved: Sequence[Arrival], offsets: Sequence[int], returns: Sequence[int]
) -> Arrival | None:
    """A later reservation of at least ``rejected.qty`` before stock next came back.

    ``reserved`` is sorted by offset and ``offsets`` are its offsets.
    """
    after = bisect.bisect_right(returns, rejected.offset)
    until = returns[after] if after < len(returns) else None
    lo = bisect.bisect_right(offsets, rejected.offset)
    hi = len(offsets) if until is None else bisect.bisect_left(offsets, until)
    return next((a for a in reserved[lo:hi] if a.qty >= rejected.qty), None)


def check_first_come(
    arrivals: Iterable[Arrival], stock_returns: Mapping[int, Sequence[int]]
) -> list[Violation]:
    """6. no SOLD_OUT rejection followed by a reservation the rejected order should have had.

    ``stock_returns`` holds, per product, the command offsets at which stock came
    back: those ``arrivals_from_events`` finds, plus those of RestockProduct commands.
    """
    by_product: dict[int, list[Arrival]] = defaultdict(list)
    for arrival in arrivals:
        by_product[arrival.product_id].append(arrival)
    found = []
    for pid, items in sorted(by_product.items()):
        reserved = sorted((a for a in items if a.outcome == RESERVED), key=lambda a: a.offset)
        offsets = [a.offset for a in reserved]
        returns = sorted(stock_returns.get(pid, ()))
        for rejected in sorted(items, key=lambda a: a.offset):
            if rejected.outcome != SOLD_OUT:
                continue
            later = _served_later(rejected, reserved, offsets, returns)
            if later is not None:
                detail = (
                    f"SOLD_OUT at offset {rejected.offset}, but order {later.order_id}"
                    f" (qty {later.qty}) reserved at offset {later.offset}"
                )
                found.append(Violation(6, "SERVED_OUT_OF_ORDER", detail, pid, rejected.order_id))
    return found
