"""Units sold and revenue per product per minute, from order events: the pure part.

Order events come at least once (a worker that crashed re-sends the same events),
and one status can be announced by more than one event (``OrderPaid`` then
``RefundRequested`` both say PAID). So, as topology.md prescribes, an order's move
to a status counts once: the first event seen for each ``(order_id, status)``.
An order counts as sold when it becomes PAID, in the minute of that transition
(``updated_at``), and as refunded when it becomes REFUNDED, in that minute.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

# Statuses as schemas/order-events.schema.json spells them.
PAID, REFUNDED = "PAID", "REFUNDED"


@dataclass
class Totals:
    units_sold: int = 0
    revenue: int = 0
    units_refunded: int = 0
    refunded: int = 0


def minute_of(epoch_seconds: float) -> str:
    """The UTC minute an epoch time falls in, e.g. ``2026-11-30T10:41Z``."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%MZ")


class SalesPerMinute:
    """Totals by (minute, product); ``add`` each order event as it is read."""

    def __init__(self) -> None:
        # Every (order_id, status) counted: the dedupe. It grows with the orders read;
        # a long-running consumer would keep it in a store with the topic's retention.
        self.counted: set[tuple[str, str]] = set()
        self.totals: dict[tuple[str, int], Totals] = {}

    def add(self, event: dict[str, Any]) -> tuple[str, int] | None:
        """Count ``event``; the (minute, product) it changed, or None (ignored or seen)."""
        status = event["status"]
        seen = (event["order_id"], status)
        if status not in (PAID, REFUNDED) or seen in self.counted:
            return None
        self.counted.add(seen)
        where = (minute_of(event["updated_at"]), event["product_id"])
        row = self.totals.setdefault(where, Totals())
        if status == PAID:
            row.units_sold += event["qty"]
            row.revenue += event["amount"]
        else:
            row.units_refunded += event["qty"]
            row.refunded += event["amount"]
        return where

    def rows(self, only: set[tuple[str, int]] | None = None) -> list[dict[str, Any]]:
        """One dict a (minute, product), in that order: the consumer's output lines."""
        keys = sorted(self.totals if only is None else only)
        return [
            {"minute": minute, "product_id": product, **asdict(self.totals[(minute, product)])}
            for minute, product in keys
        ]
