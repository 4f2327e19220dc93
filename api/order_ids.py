"""Order IDs, made at the API before the order reaches Kafka.

Without an Idempotency-Key an order gets a UUIDv7 (time-ordered, so IDs sort by
creation). With one it gets a UUIDv5 of the member and the key: a retry of the
same request names the same order, and the stock agent decides an order only once.
"""

from __future__ import annotations

import os
import time
import uuid

IDEMPOTENCY_NAMESPACE = uuid.UUID("5b0a6e0e-57c1-4d3a-9d39-5f0c3f1f6a11")


def new_order_id() -> str:
    """A UUIDv7: 48 bits of Unix milliseconds, then random bits (RFC 9562)."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80
    value |= int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 9562 variant
    return str(uuid.UUID(int=value))


def idempotent_order_id(member_id: int, idempotency_key: str) -> str:
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{member_id}:{idempotency_key}"))


def is_order_id(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False
