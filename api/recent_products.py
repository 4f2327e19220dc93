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

FRESH_SECONDS = 0.1
FIELDS_SECONDS = 60.0
MAX_ENTRIES = 10_000

Read = tuple[dict[str, Any], dict[str, str] | None]  # catalog fields, stock projection


class RecentProducts:
    def __init__(
        self, fresh_seconds: float = FRESH_SECONDS, fields_seconds: float = FIELDS_SECONDS
    ) -> None:
        self._fresh_seconds = fresh_seconds
        self._fields_seconds = fields_seconds
        self._reads: dict[int, tuple[Read, float]] = {}
        self._fields: dict[int, tuple[dict[str, Any], float]] = {}

    def get(self, product_id: int) -> Read | None:
        entry = self._reads.get(product_id)
        if entry is None or time.monotonic() - entry[1] >= self._fresh_seconds:
            return None
        return entry[0]

    def fields(self, product_id: int) -> dict[str, Any] | None:
        """The catalog fields as read in the last ``FIELDS_SECONDS``, or None."""
        entry = self._fields.get(product_id)
        if entry is None or time.monotonic() - entry[1] >= self._fields_seconds:
            return None
        return entry[0]

    def remember(self, product_id: int, read: Read) -> None:
        if len(self._reads) >= MAX_ENTRIES:
            self._reads.clear()
            self._fields.clear()
        now = time.monotonic()
        self._reads[product_id] = (read, now)
        self._fields[product_id] = (read[0], now)

    def forget(self, product_id: int) -> None:
        self._reads.pop(product_id, None)
        self._fields.pop(product_id, None)
