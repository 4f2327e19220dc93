"""Epoch seconds <-> the naive UTC ``DATETIME(6)`` values MySQL columns hold.

Records carry times as Unix epoch seconds; the tables store them as UTC without
an offset. Converting in Python keeps writes independent of the session time zone.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime


def to_datetime(seconds: float | None) -> datetime | None:
    """The naive UTC datetime of ``seconds`` (None stays None)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)


def to_epoch_micros(seconds: float | None) -> int | None:
    """Microseconds since the epoch, rounded as ``to_datetime`` rounds (half to even on
    the fraction), so ``TIMESTAMPADD(MICROSECOND, n, '1970-01-01')`` is that datetime."""
    if seconds is None:
        return None
    fraction, whole = math.modf(seconds)
    return int(whole) * 1_000_000 + round(fraction * 1_000_000)


def to_epoch(value: datetime | None) -> float | None:
    """Epoch seconds of a naive UTC datetime read from MySQL."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC).timestamp()
