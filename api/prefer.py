"""The ``Prefer: wait=N`` request header (RFC 7240), capped at 10 seconds.

Per the RFC, a preference the server cannot read is ignored, not refused.
"""

from __future__ import annotations

MAX_WAIT_SECONDS = 10.0


def requested_wait(header: str | None) -> float | None:
    """Seconds the client is willing to wait for the decision, or None."""
    if not header:
        return None
    for preference in header.split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        try:
            seconds = float(value.strip().strip('"'))
        except ValueError:
            return None
        if seconds != seconds or seconds < 0:  # NaN or negative
            return None
        return min(seconds, MAX_WAIT_SECONDS)
    return None
