"""How the pipeline's consumers fetch: one choice for the Faust workers (applied by
streams/faust_fixes.py, fix 2) and the API's order-events listener (api/outcomes.py).

A fetch returns as soon as it has its minimum size, else after ``FETCH_MAX_WAIT_MS``.
Every fetch costs the broker and the consumer the same (a request, a response to
parse, a pass of the fetch loop) whatever it carries, so the two set how often each
consumer pays that:

- A busy consumer asks for ``FETCH_MIN_BYTES``: with Kafka's default (1 byte) it
  fetched a few records at a time, hundreds of times a second; 16 KB decided about
  10 % more (bench/README.md, "Fetching 16 KB at least").
- The wait is 40 ms. At 5 ms each of a stack's four consumers fetched 200 times a
  second even at rest (0.7 of a core, Kafka's 0.25 of it), and as often under a
  load that fills 16 KB more slowly than that; 40 ms decided 1.43 times as many
  orders a second (bench/README.md, "Fetching: 40 ms, and the first byte at
  rest"). 80 ms was slower again (the bench's closed loop waits on the answers).
- A quiet consumer (fewer than ``BUSY_RECORDS_PER_SECOND`` records a second over the
  last ``RATE_WINDOW_SECONDS``) asks for 1 byte (``FetchSizing``): its fetch returns
  with the first record, so at rest an order's answer does not wait for the 40 ms
  twice (p50 69 ms with 16 KB, 13-16 ms so), and it fetches at most as often as
  records come, which is then rare.

The wait stays short for another reason: aiokafka leaves a partition whose fetched
records are still being processed out of the next fetch, and a fetch that names only
idle partitions is held for the whole wait while new records of the busy one wait
(Faust's own 1.5 s made every decision stop for 1.5 s every few seconds).
"""

from __future__ import annotations

import time
from typing import Any

FETCH_MAX_WAIT_MS = 40
FETCH_MIN_BYTES = 16 * 1024
QUIET_MIN_BYTES = 1
BUSY_RECORDS_PER_SECOND = 100
RATE_WINDOW_SECONDS = 0.25


class FetchSizing:
    """One consumer's fetch minimum, from the rate of records it was handed lately."""

    def __init__(self) -> None:
        self._since = time.monotonic()
        self._records = 0
        self.busy = False

    def handed_out(self, consumer: Any, records: int) -> None:
        """After each hand-out of fetched records (0 when a wait ran out)."""
        self._records += records
        now = time.monotonic()
        elapsed = now - self._since
        if elapsed < RATE_WINDOW_SECONDS:
            return
        self.busy = self._records >= BUSY_RECORDS_PER_SECOND * elapsed
        self._since, self._records = now, 0
        # aiokafka 0.14 reads it for each fetch request it builds (pinned in setup.cfg;
        # the workers check the version in streams/faust_fixes.py, and
        # tests/unit/test_faust_fixes.py checks that the Fetcher reads it so).
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_min_bytes = FETCH_MIN_BYTES if self.busy else QUIET_MIN_BYTES
