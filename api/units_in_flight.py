"""The units this API process has sent to the stock agent and not yet seen decided.

In a sold-out storm every order that reaches Kafka costs the whole pipeline (the
command, its decision, the saga's MySQL row), and once a product's units left are
spoken for by orders already in flight, a further order is most likely rejected
``SOLD_OUT`` a moment later: the buyer gets a 202, then a rejection. So an order
waits here, before anything is written for it, while this process's own orders in
flight cover its share of the product's units left. When their decisions come it
goes on if units are left, and is refused from the pushed sold-out set otherwise
(409, no order created), as any order after the sale.

It is a hint, like the sold-out set, never a decision:

- an order is never refused here, only held, and at most ``HOLD_SECONDS``; then it
  goes to Kafka whatever the count says (a decision missed, a lost listener);
- an order goes at once when none of this process's orders of the product are in
  flight, so a product always has an order of each process on its way;
- first come, first served is the order in which Kafka has the orders
  (CONTRACT.md), which a hold only moves later: a held order can be overtaken by
  a later request to another API process, never refused for units it could get.

"Units left" is the stock agent's ``remaining`` in Redis (one read at most every
100 ms per product) less the units reserved since in the events this process reads,
divided among the API processes; in flight is this process's own count, so no
process waits for another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

# Longer than a decision takes under load (a few hundred ms), well under a client's
# patience: past it the order goes on without the hint.
HOLD_SECONDS = 1.0
# How often a held order looks again at the units left without a decision of its own
# (another process's decisions, a restock).
RECHECK_SECONDS = 0.05
# An order whose decision this process never saw (the listener reconnected from the
# end) stops counting after this long.
FORGET_SECONDS = 5.0
# How long a read of the units left serves, the units reserved since (in the events this
# process reads) taken off it: the stock agent's hash lags its decisions by up to 25 ms,
# so a read alone would let the orders of a whole decision round through again.
REREAD_SECONDS = 0.1
# The event that takes units (agents/stock_rules.ORDER_RESERVED; the API does not import
# the stock agent's rules, a unit test holds the two equal).
UNITS_TAKEN_EVENT = "OrderReserved"
# While the units left, read in the last FAR_READ_SECONDS, are this many times what is
# in flight, an order goes on without reading them again: a product far from sold out
# costs a read a second, not one every 100 ms.
FAR_FROM_SOLD_OUT = 4
FAR_READ_SECONDS = 1.0


@dataclass(frozen=True)
class LeftRead:
    left: int  # the stock agent's remaining, as read from Redis
    taken: int  # this process's count of units reserved when the read began
    at: float


@dataclass(frozen=True)
class InFlight:
    product_id: int
    qty: int
    sent_at: float


Remaining = Callable[[], Awaitable[int | None]]


class Claim:
    """An order's units counted in flight, from its hold's end to its decision."""

    def __init__(self, counter: UnitsInFlight, order_id: str, held: float) -> None:
        self._counter = counter
        self._order_id = order_id
        self._sent = False
        self.held = held  # seconds it waited for room (0.0: at once)

    def sent(self) -> None:
        """Kafka has the order: its units count until its decision is read."""
        self._sent = True

    def close(self) -> None:
        if not self._sent:  # refused, or Kafka did not take it: nothing in flight
            self._counter.remove(self._order_id)


class UnitsInFlight:
    def __init__(self, processes: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._processes = max(1, processes)
        self._clock = clock
        self._orders: dict[str, InFlight] = {}
        self._units: dict[int, int] = {}
        self._reads: dict[int, LeftRead] = {}
        self._reading: dict[int, asyncio.Future[LeftRead | None]] = {}
        self._taken: dict[int, int] = {}  # units reserved in the events read, by product
        self._counted: dict[str, float] = {}  # the reservations in _taken, when seen
        self._decided: dict[int, asyncio.Event] = {}

    @property
    def tracking(self) -> bool:
        return bool(self._orders)

    def units(self, product_id: int) -> int:
        return self._units.get(product_id, 0)

    def add(self, product_id: int, order_id: str, qty: int) -> None:
        """Count the order's units in flight (until ``remove``). An order counted already
        (a retry with its Idempotency-Key) is counted once, from now."""
        self._forget_stale()
        self.remove(order_id)
        self._orders[order_id] = InFlight(product_id, qty, self._clock())
        self._units[product_id] = self.units(product_id) + qty

    def remove(self, order_id: str) -> None:
        """An event about ``order_id`` was read (its first is its reservation's decision),
        or its produce failed."""
        entry = self._orders.pop(order_id, None)
        if entry is None:
            return
        self._release(entry)

    def seen(self, event: dict[str, Any]) -> None:
        """An event read from ``order-events`` (any process's order)."""
        order_id = event["order_id"]
        self.remove(order_id)
        product_id, qty = event.get("product_id"), event.get("qty")
        if event.get("event") != UNITS_TAKEN_EVENT or not isinstance(product_id, int):
            return
        # Each reservation counted once: a worker's replay sends its event again.
        self._forget_counted()
        if order_id not in self._counted:
            self._counted[order_id] = self._clock()
            self._taken[product_id] = self._taken.get(product_id, 0) + (qty or 0)

    def share(self, left: int) -> int:
        """This process's share of ``left`` units (rounded up: a last unit is everyone's)."""
        return math.ceil(left / self._processes)

    async def claim(self, product_id: int, order_id: str, qty: int, remaining: Remaining) -> Claim:
        """Wait until this process's orders in flight leave room for ``qty`` more units of
        the product (at most ``HOLD_SECONDS``), then count the order's units: no await
        between the last look and the count, so the orders a decision wakes take the
        room it made one by one. ``Claim.close`` uncounts them unless Kafka took it."""
        began = self._clock()
        waited = False
        while True:
            in_flight = self.units(product_id)
            if in_flight == 0 or self._far_from_sold_out(product_id, in_flight + qty):
                break
            left = await self._units_left(product_id, remaining)  # Redis every 100 ms
            if left is None:  # never published, or Redis away: the stock agent decides
                break
            if self.units(product_id) + qty <= self.share(left):  # counted again: awaited
                break
            held = self._clock() - began
            if held >= HOLD_SECONDS:
                break
            await self._until_decided(product_id, min(RECHECK_SECONDS, HOLD_SECONDS - held))
            waited = True
        self.add(product_id, order_id, qty)
        return Claim(self, order_id, self._clock() - began if waited else 0.0)

    async def _units_left(self, product_id: int, remaining: Remaining) -> int | None:
        """The units left as last read (at most ``REREAD_SECONDS`` ago, one read at a time
        per product) less the units reserved since in the events read."""
        read = self._reads.get(product_id)
        if read is None or self._clock() - read.at > REREAD_SECONDS:
            pending = self._reading.get(product_id)
            if pending is None:
                pending = asyncio.ensure_future(self._read(product_id, remaining))
                self._reading[product_id] = pending
            read = await asyncio.shield(pending)
        return None if read is None else self._left_since(product_id, read)

    async def _read(self, product_id: int, remaining: Remaining) -> LeftRead | None:
        taken, at = self._taken.get(product_id, 0), self._clock()
        try:
            left = await remaining()  # Redis
        finally:
            del self._reading[product_id]
        if left is None:
            self._reads.pop(product_id, None)
            return None
        self._reads[product_id] = read = LeftRead(left, taken, at)
        return read

    def _far_from_sold_out(self, product_id: int, units: int) -> bool:
        read = self._reads.get(product_id)
        if read is None or self._clock() - read.at > FAR_READ_SECONDS:
            return False
        return self.share(self._left_since(product_id, read)) >= FAR_FROM_SOLD_OUT * units

    def _left_since(self, product_id: int, read: LeftRead) -> int:
        """The units left as read, less those reserved since in the events read."""
        return read.left - (self._taken.get(product_id, 0) - read.taken)

    async def _until_decided(self, product_id: int, timeout: float) -> None:
        event = self._decided.setdefault(product_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    def _release(self, entry: InFlight) -> None:
        left = self.units(entry.product_id) - entry.qty
        if left > 0:
            self._units[entry.product_id] = left
        else:
            self._units.pop(entry.product_id, None)
        event = self._decided.pop(entry.product_id, None)
        if event is not None:
            event.set()  # wakes every order held for the product; the next wait takes a new one

    def _forget_counted(self) -> None:
        cutoff = self._clock() - FORGET_SECONDS
        while self._counted:  # insertion order is the order seen: the oldest first
            order_id, at = next(iter(self._counted.items()))
            if at > cutoff:
                return
            del self._counted[order_id]

    def _forget_stale(self) -> None:
        cutoff = self._clock() - FORGET_SECONDS
        while self._orders:  # insertion order is sending order: the oldest first
            order_id, entry = next(iter(self._orders.items()))
            if entry.sent_at > cutoff:
                return
            del self._orders[order_id]
            self._release(entry)
