"""A small in-process cache: an entry is trusted for ``ttl`` seconds after it is put.

Read per request on the hot path (api/token_versions.py, api/recent_products.py),
so it is one dict and nothing more. It has no clock of its own: the caller passes
``now`` (its ``time.monotonic()``, often one it read anyway), so a test drives time
by hand. Reads evict nothing; a key put again replaces its entry. The size bound is
crude on purpose: a ``put`` into a full cache empties it first, which costs one
miss per key in use, instead of keeping an order on every hit.
"""

from __future__ import annotations

from collections.abc import Hashable
from enum import Enum
from typing import Generic, TypeVar, overload

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
D = TypeVar("D")


class Missing(Enum):
    """``get``'s default for caches whose values may be None."""

    MISSING = "MISSING"


MISSING = Missing.MISSING


class TtlCache(Generic[K, V]):
    __slots__ = ("_entries", "max_entries", "ttl")

    def __init__(self, ttl: float, max_entries: int) -> None:
        self.ttl = ttl  # seconds an entry is served after its put
        self.max_entries = max_entries  # a put into a cache this full empties it first
        self._entries: dict[K, tuple[V, float]] = {}

    @overload
    def get(self, key: K, now: float) -> V | None: ...

    @overload
    def get(self, key: K, now: float, default: D) -> V | D: ...

    def get(self, key: K, now: float, default: object = None) -> object:
        """The value put less than ``ttl`` seconds before ``now``, else ``default``."""
        entry = self._entries.get(key)
        if entry is None or now - entry[1] >= self.ttl:
            return default
        return entry[0]

    def put(self, key: K, value: V, now: float) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (value, now)

    def discard(self, key: K) -> None:
        """Forget the key at once (nothing to do if it is not there)."""
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)
