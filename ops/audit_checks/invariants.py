"""The contract's invariants 1-5 as pure checks over rows (see CONTRACT.md, "Invariants").

Each check takes plain rows, as ``ops.audit_checks.invariant_queries`` reads them from
MySQL (or as a test writes them by hand), and returns the violations it finds,
each with a stable code and the ids needed to look it up. Invariant 6 (first come,
first served) lives in ``ops.audit_checks.first_come``. They hold once the system is quiet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from streams.statuses import PAID, PENDING, REFUNDED


@dataclass(frozen=True)
class Violation:
    invariant: int  # as numbered in the contract
    code: str
    detail: str
    product_id: int | None = None
    order_id: str | None = None
    member_id: int | None = None

    def __str__(self) -> str:
        ids = {"product": self.product_id, "order": self.order_id, "member": self.member_id}
        named = " ".join(f"{k}={v}" for k, v in ids.items() if v is not None)
        return f"invariant {self.invariant} {self.code} {named}: {self.detail}"


@dataclass(frozen=True)
class Units:
    """Units of one product in RESERVED and in PAID orders."""

    reserved: int = 0
    paid: int = 0


@dataclass(frozen=True)
class PaymentSummary:
    """Succeeded charges and refunds of one order; ``status`` None if no order row."""

    order_id: str
    status: str | None
    charges: int
    refunds: int


def check_no_oversell(stock: Mapping[int, int], units: Mapping[int, Units]) -> list[Violation]:
    """1. units in PAID + RESERVED orders <= stock, for every product with orders."""
    found = []
    for pid, held in sorted(units.items()):
        if pid not in stock:
            found.append(Violation(1, "UNKNOWN_PRODUCT", "orders for an unlisted product", pid))
        elif held.reserved + held.paid > stock[pid]:
            detail = f"reserved {held.reserved} + paid {held.paid} > stock {stock[pid]}"
            found.append(Violation(1, "OVERSOLD", detail, pid))
    return found


def check_no_leak(
    stock: Mapping[int, int], units: Mapping[int, Units], remaining: Mapping[int, int]
) -> list[Violation]:
    """2. remaining + units RESERVED + units PAID = stock, for every listed product."""
    found = []
    for pid in sorted(set(stock) | set(remaining)):
        if pid not in stock or pid not in remaining:
            missing = "stock" if pid not in stock else "remaining"
            found.append(Violation(2, "UNITS_UNACCOUNTED", f"no {missing} known", pid))
            continue
        held = units.get(pid, Units())
        total = remaining[pid] + held.reserved + held.paid
        if total != stock[pid]:
            code = "LEAKED" if total < stock[pid] else "UNITS_CREATED"
            detail = (
                f"remaining {remaining[pid]} + reserved {held.reserved} + paid {held.paid}"
                f" = {total} != stock {stock[pid]}"
            )
            found.append(Violation(2, code, detail, pid))
    return found


def check_orders_stored(
    acknowledged: Iterable[str], status_of: Mapping[str, str]
) -> list[Violation]:
    """3. every acknowledged order has its row, and no row is left PENDING."""
    found = [
        Violation(3, "ORDER_MISSING", "acknowledged but not in MySQL", order_id=oid)
        for oid in sorted(set(acknowledged))
        if oid not in status_of
    ]
    found += [
        Violation(3, "ORDER_PENDING", "still PENDING", order_id=oid)
        for oid, status in sorted(status_of.items())
        if status == PENDING
    ]
    return found


def _payment_problem(row: PaymentSummary) -> tuple[str, str] | None:
    counts = f"status {row.status}, {row.charges} charge(s), {row.refunds} refund(s) succeeded"
    if row.charges > 1 or row.refunds > 1:
        return "CHARGED_TWICE", counts
    if row.status == PAID and (row.charges, row.refunds) != (1, 0):
        return "PAID_WITHOUT_KEPT_CHARGE", counts
    if row.status == REFUNDED and (row.charges, row.refunds) != (1, 1):
        return "REFUNDED_WITHOUT_CHARGE_AND_REFUND", counts
    if row.status not in (PAID, REFUNDED) and row.charges != row.refunds:
        return "CHARGE_KEPT" if row.charges > row.refunds else "REFUND_WITHOUT_CHARGE", counts
    return None


def check_payments(rows: Iterable[PaymentSummary], source: str = "payments") -> list[Violation]:
    """4. PAID: one kept charge; REFUNDED: one charge and one refund; others: no kept charge.

    ``source`` names where the summaries come from (the ``payments`` table or the
    gateway's ledger); codes from the ledger get a ``LEDGER_`` prefix.
    """
    prefix = "" if source == "payments" else "LEDGER_"
    found = []
    for row in sorted(rows, key=lambda r: r.order_id):
        problem = _payment_problem(row)
        if problem:
            code, detail = problem
            found.append(Violation(4, prefix + code, f"{source}: {detail}", order_id=row.order_id))
    return found


def check_member_limits(
    holdings: Iterable[tuple[int, int, int]], limits: Mapping[int, int]
) -> list[Violation]:
    """5. (member, product, units RESERVED + PAID) never above the product's per-user limit."""
    found = []
    for member_id, pid, units in sorted(holdings):
        limit = limits.get(pid)
        if limit is not None and units > limit:
            detail = f"holds {units} units, limit {limit}"
            found.append(Violation(5, "OVER_LIMIT", detail, pid, member_id=member_id))
    return found
