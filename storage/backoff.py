"""Capped exponential back-off, for the loops that wait out a Redis or MySQL outage.

``failed()`` counts a failure and says how long to wait before trying again:
``first``, then twice the last wait, never more than ``cap``; ``succeeded()`` starts
over and says how many failures it ended. It neither sleeps nor reads a clock: each
caller waits its own way (``asyncio.sleep``, or a wait a wake-up may cut short),
logs its own way and decides what it retries (storage/retrying.py,
storage/stock_projection.py, agents/project_order_status.py).
"""

from __future__ import annotations


class Backoff:
    __slots__ = ("cap", "delay", "failures", "first")

    def __init__(self, first: float, cap: float) -> None:
        self.first = first  # the wait after the first failure
        self.cap = cap  # the longest wait
        self.delay = 0.0  # the wait after the last failure; 0 once an attempt succeeds
        self.failures = 0  # failures since the last success

    def failed(self) -> float:
        """Count a failure; the seconds to wait before the next attempt."""
        self.failures += 1
        self.delay = min(max(self.delay * 2, self.first), self.cap)
        return self.delay

    def succeeded(self) -> int:
        """Start over; how many failures this success ended (0: none)."""
        failures, self.failures, self.delay = self.failures, 0, 0.0
        return failures
