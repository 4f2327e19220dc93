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
from collections.abc import Callable
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


def _insert_first(
    cur: Cursor, order_id: str, operation: str, status: str, amount: int, at: float
) -> None:
    # A no-op update on a duplicate key: the first row stays, and, unlike
    # INSERT IGNORE, no other error is silently turned into a warning.
    cur.execute(
        "INSERT INTO gateway_ledger (order_id, operation, status, amount, decided_at)"
        " VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE order_id = order_id",
        (order_id, operation, status, amount, to_datetime(at)),
    )


def _recorded(cur: Cursor, order_id: str, operation: str) -> GatewayResult | None:
    cur.execute(
        "SELECT status, amount, decided_at FROM gateway_ledger"
        " WHERE order_id = %s AND operation = %s",
        (order_id, operation),
    )
    row = cur.fetchone()
    if row is None:
        return None
    decided_at = to_epoch(row["decided_at"])
    assert decided_at is not None
    return GatewayResult(order_id, operation, row["status"], int(row["amount"]), decided_at)


def record_charge(cur: Cursor, order_id: str, amount: int, status: str, at: float) -> GatewayResult:
    """Record the charge unless one is recorded already; the recorded one."""
    _insert_first(cur, order_id, CHARGE, status, amount, at)
    result = _recorded(cur, order_id, CHARGE)
    assert result is not None
    return result


def record_refund(cur: Cursor, order_id: str, amount: int, at: float) -> GatewayResult:
    """Refund the order's charge, only if it succeeded; the recorded refund."""
    charge = _recorded(cur, order_id, CHARGE)
    if charge is not None and charge.succeeded:
        _insert_first(cur, order_id, REFUND, SUCCEEDED, charge.amount, at)
    else:
        # Nothing was taken, so nothing can be given back.
        _insert_first(cur, order_id, REFUND, FAILED, amount, at)
    result = _recorded(cur, order_id, REFUND)
    assert result is not None
    return result


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

    async def call(self, operation: str, order_id: str, amount: int) -> GatewayResult:
        """Charge or refund (``operation``) the order; idempotent."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown payment operation {operation!r}")
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        at = self.clock()
        if operation == CHARGE:
            status = FAILED if declines(order_id, self.failure_rate) else SUCCEEDED
            return await run_until_done(
                self.db,
                lambda cur: record_charge(cur, order_id, amount, status, at),
                "charge",
                self.on_retry,
            )
        return await run_until_done(
            self.db, lambda cur: record_refund(cur, order_id, amount, at), "refund", self.on_retry
        )
