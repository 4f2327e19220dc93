"""What this API instance read of each product in the last ``FRESH_SECONDS``.

In a storm every order request reads its product: the catalog fields and the stock
agent's projection (``remaining``, which drives the sold-out fast path). Thousands
of requests a second for one product then share one Redis round trip every
100 ms instead of making one each. ``GET /products`` and ``GET /products/{id}``
always read afresh and refresh the entries, so a buyer who saw units come back
is not refused by an older read. The cost is staleness: the fast path may see
``remaining`` up to 100 ms later than the projection has it (the projection
itself lags decisions by up to 25 ms). Either way the stock
agent decides: a stale "units left" lets an order through to be rejected there,
a stale "sold out" refuses an order only if the product was sold out 125 ms ago.
Admin writes on this instance forget their product at once. Unknown products are
not remembered, so a product listed on another instance is orderable at once.

The fields an order needs (``per_user_limit``, ``sale_price``) never change once a
product is listed, so ``fields`` serves them for ``FIELDS_SECONDS`` (the Redis
cache's own lifetime): while the sold-out set is pushed (api/pushed_state.py), an
order reads nothing of its product from Redis.
"""

from __future__ import annotations

import time
from typing import Any

from api.ttl_cache import TtlCache

FRESH_SECONDS = 0.1
FIELDS_SECONDS = 60.0
MAX_ENTRIES = 10_000

Read = tuple[dict[str, Any], dict[str, str] | None]  # catalog fields, stock projection


class RecentProducts:
    def __init__(
        self, fresh_seconds: float = FRESH_SECONDS, fields_seconds: float = FIELDS_SECONDS
    ) -> None:
        # Both hold the same products (put and forgotten together), so both empty at once.
        self._reads: TtlCache[int, Read] = TtlCache(fresh_seconds, MAX_ENTRIES)
        self._fields: TtlCache[int, dict[str, Any]] = TtlCache(fields_seconds, MAX_ENTRIES)

    def get(self, product_id: int) -> Read | None:
        return self._reads.get(product_id, time.monotonic())

    def fields(self, product_id: int) -> dict[str, Any] | None:
        """The catalog fields as read in the last ``FIELDS_SECONDS``, or None."""
        return self._fields.get(product_id, time.monotonic())

    def remember(self, product_id: int, read: Read) -> None:
        now = time.monotonic()
        self._reads.put(product_id, read, now)
        self._fields.put(product_id, read[0], now)

    def forget(self, product_id: int) -> None:
        self._reads.discard(product_id)
        self._fields.discard(product_id)
