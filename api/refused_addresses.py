"""Client addresses over their login or sign-up allowance in the current window.

Once Redis has said an address is over its allowance (api/auth_limits.py), its next
attempts in the same window are refused from here, before the body is read and
without a Redis round trip: a flood of refusals must cost the API as little as
possible, since the sale's requests share its event loop. Forgotten when the window
ends; per process (another API process learns it from Redis on its own).
"""

from __future__ import annotations


class RefusedAddresses:
    def __init__(self) -> None:
        self._window = -1
        self._refused: set[tuple[str, str]] = set()

    def holds(self, action: str, address: str, window: int) -> bool:
        self._forget_before(window)
        return (action, address) in self._refused

    def add(self, action: str, address: str, window: int) -> None:
        self._forget_before(window)
        self._refused.add((action, address))

    def _forget_before(self, window: int) -> None:
        if window != self._window:
            self._window, self._refused = window, set()
