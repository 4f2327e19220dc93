"""The simulated payment gateway: charges and refunds, idempotent per order.

It keeps its own ledger (table ``gateway_ledger``, one row per order and
operation), as a real gateway does behind an idempotency key. The first request
for an (order, operation) decides; every retry or replay reads that row back, so
an order is never charged twice and a replay gets the answer the first call got.
The decline decision is a deterministic draw from the order id, so even two
first calls racing each other agree. Latency is simulated with a sleep that does
not block the event loop; MySQL outages are waited out (``run_until_done``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage.mysql import Cursor, Database
from storage.retrying import run_until_done
from storage.utc import to_datetime, to_epoch

CHARGE = "CHARGE"
REFUND = "REFUND"
OPERATIONS = frozenset({CHARGE, REFUND})
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"


@dataclass(frozen=True)
class GatewayResult:
    """What the ledger holds for one order and operation."""

    order_id: str
    operation: str
    status: str
    amount: int
    decided_at: float

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED


def declines(order_id: str, failure_rate: float) -> bool:
    """Whether the gateway declines this order's card: the same answer every time."""
    digest = hashlib.sha256(order_id.encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return draw < failure_rate


_INSERT_FIRST = (
    "INSERT INTO gateway_ledger (order_id, operation, status, amount, decided_at)"
    " VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE order_id = order_id"
)


def _recorded_all(
    cur: Cursor, order_ids: Sequence[str], operation: str
) -> dict[str, GatewayResult]:
    cur.execute(
        "SELECT order_id, status, amount, decided_at FROM gateway_ledger"
        f" WHERE operation = %s AND order_id IN ({', '.join(['%s'] * len(order_ids))})",
        (operation, *order_ids),
    )
    results = {}
    for row in cur.fetchall():
        decided_at = to_epoch(row["decided_at"])
        assert decided_at is not None
        results[row["order_id"]] = GatewayResult(
            row["order_id"], operation, row["status"], int(row["amount"]), decided_at
        )
    return results


def record_all(
    cur: Cursor, operation: str, requests: Sequence[tuple[str, int]], failure_rate: float, at: float
) -> dict[str, GatewayResult]:
    """Decide each (order id, amount) of ``operation`` not decided yet, in one multi-row
    insert; what the ledger holds for each. A charge is declined by the draw (``declines``);
    a refund succeeds only if the order's charge did, for the amount charged. One request
    an order: an order's requests follow one another (a refund its charge)."""
    order_ids = sorted({order_id for order_id, _ in requests})  # a fixed lock order
    charges = _recorded_all(cur, order_ids, CHARGE) if operation == REFUND else {}
    rows = []
    for order_id, amount in sorted(requests):
        if operation == CHARGE:
            status = FAILED if declines(order_id, failure_rate) else SUCCEEDED
        elif (charge := charges.get(order_id)) is not None and charge.succeeded:
            status, amount = SUCCEEDED, charge.amount
        else:
            status = FAILED  # nothing was taken, so nothing can be given back
        rows.append((order_id, operation, status, amount, to_datetime(at)))
    cur.executemany(_INSERT_FIRST, rows)
    return _recorded_all(cur, order_ids, operation)


class PaymentGateway:
    """Charges and refunds through the ledger, each after the simulated latency."""

    def __init__(
        self,
        db: Database,
        failure_rate: float,
        latency_ms: int,
        clock: Callable[[], float] = time.time,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        self.db, self.failure_rate, self.latency_ms, self.clock = (
            db,
            failure_rate,
            latency_ms,
            clock,
        )
        self.on_retry = on_retry  # told of each failed MySQL attempt (a metric)

    async def call_many(
        self, operation: str, requests: Sequence[tuple[str, int]]
    ) -> dict[str, GatewayResult]:
        """Charge or refund (``operation``) each (order id, amount), one request an order,
        as that many concurrent calls would (the latency is waited once, by all of them);
        idempotent. One MySQL transaction for all: three round trips, not three each."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown payment operation {operation!r}")
        if not requests:
            return {}
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        at = self.clock()
        return await run_until_done(
            self.db,
            lambda cur: record_all(cur, operation, requests, self.failure_rate, at),
            operation.lower(),
            self.on_retry,
        )

    async def call(self, operation: str, order_id: str, amount: int) -> GatewayResult:
        """Charge or refund (``operation``) the order; idempotent."""
        return (await self.call_many(operation, [(order_id, amount)]))[order_id]
