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
"""

from __future__ import annotations

import time
from typing import Any

FRESH_SECONDS = 0.1
MAX_ENTRIES = 10_000

Read = tuple[dict[str, Any], dict[str, str] | None]  # catalog fields, stock projection


class RecentProducts:
    def __init__(self, fresh_seconds: float = FRESH_SECONDS) -> None:
        self._fresh_seconds = fresh_seconds
        self._reads: dict[int, tuple[Read, float]] = {}

    def get(self, product_id: int) -> Read | None:
        entry = self._reads.get(product_id)
        if entry is None or time.monotonic() - entry[1] >= self._fresh_seconds:
            return None
        return entry[0]

    def remember(self, product_id: int, read: Read) -> None:
        if len(self._reads) >= MAX_ENTRIES:
            self._reads.clear()
        self._reads[product_id] = (read, time.monotonic())

    def forget(self, product_id: int) -> None:
        self._reads.pop(product_id, None)
