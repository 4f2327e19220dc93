"""Times on the wire: RFC 3339 in UTC ('Z'); epoch seconds inside the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(epoch_seconds: float | None) -> str | None:
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def datetime_rfc3339(value: datetime | None) -> str | None:
    """The same wire form for a datetime (naive values are UTC, as MySQL stores them)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return rfc3339(aware.timestamp())


def naive_utc(value: datetime | None) -> datetime | None:
    """The form MySQL DATETIME columns store: UTC without an offset."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def epoch(value: datetime | None) -> float | None:
    """Unix seconds of a UTC time (records carry times as epoch floats)."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.timestamp()
