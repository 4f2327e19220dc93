"""The order status vocabulary and its precedence.

Every transition of the contract's status machine goes to a strictly higher
rank, so a projection that applies an update only when its rank is not lower
than the stored one never moves an order backwards, whatever the order in which
replays and retries deliver the updates.
"""

from __future__ import annotations

PENDING = "PENDING"
RESERVED = "RESERVED"
REJECTED = "REJECTED"
PAID = "PAID"
PAYMENT_FAILED = "PAYMENT_FAILED"
CANCELLED = "CANCELLED"
EXPIRED = "EXPIRED"
REFUNDED = "REFUNDED"

STATUS_RANK = {
    PENDING: 0,
    RESERVED: 1,
    REJECTED: 1,
    PAID: 2,
    PAYMENT_FAILED: 2,
    CANCELLED: 2,
    EXPIRED: 2,
    REFUNDED: 3,
}

FINAL_STATUSES = frozenset({REJECTED, PAYMENT_FAILED, CANCELLED, EXPIRED, REFUNDED})

# Why an order was rejected: the contract's reasons.
SOLD_OUT = "SOLD_OUT"
LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
SALE_NOT_ACTIVE = "SALE_NOT_ACTIVE"
REJECTION_REASONS = frozenset({SOLD_OUT, LIMIT_EXCEEDED, SALE_NOT_ACTIVE})
