"""Times on the wire: RFC 3339 in UTC ('Z'); epoch seconds inside the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(epoch_seconds: float | None) -> str | None:
    if epoch_seconds is None:
        return None
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
