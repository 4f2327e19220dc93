"""How the pipeline's consumers fetch: one choice for the Faust workers (applied by
streams/faust_fixes.py, fix 2) and the API's order-events listener (api/outcomes.py).

A fetch returns as soon as it has its minimum size, else after its maximum wait.
Every fetch costs the broker and the consumer the same (a request, a response to
parse, a pass of the fetch loop) whatever it carries, so the two set how often each
consumer pays that. Each consumer moves between two settings with the rate of
records it was handed lately (``FetchSizing``):

- **Busy** (at least ``BUSY_RECORDS_PER_SECOND`` records a second over the last
  ``RATE_WINDOW_SECONDS``): ``BUSY_MIN_BYTES``, waiting at most ``BUSY_MAX_WAIT_MS``.
  With Kafka's default minimum (1 byte) a busy consumer fetched a few records at a
  time, hundreds of times a second; 16 KB decided about 10 % more (bench/README.md,
  "Fetching 16 KB at least"). Below about 16 KB in a wait, as in the bench's
  all-purchasable load (about 1,000 orders a second, each hop's records a few
  hundred bytes), every fetch runs its whole wait, and an order waits for that
  twice (the command to the worker, the decision back): 20 ms decided 1.2 times as
  many orders a second as 40 ms, and 1.08 times with a core taken by something
  else (bench/README.md, "Fetching: 20 ms while busy").
- **Quiet**: the first byte (``QUIET_MIN_BYTES``), waiting at most
  ``QUIET_MAX_WAIT_MS``. The fetch returns with the first record, so at rest an
  order's answer does not wait at all (p50 69 ms with 16 KB, 13-16 ms so), and a
  consumer with nothing to read asks 25 times a second: at 5 ms each of a stack's
  four consumers fetched 200 times a second (0.7 of a core at rest, Kafka's 0.25 of
  it), and at 20 ms a stack at rest took 0.31 of a core against 0.21 at 40 ms.

The waits stay short for another reason: aiokafka leaves a partition whose fetched
records are still being processed out of the next fetch, and a fetch that names only
idle partitions is held for the whole wait while new records of the busy one wait
(Faust's own 1.5 s made every decision stop for 1.5 s every few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

BUSY_MAX_WAIT_MS = 20
BUSY_MIN_BYTES = 16 * 1024
QUIET_MAX_WAIT_MS = 40
QUIET_MIN_BYTES = 1
# What a consumer asks for, as (minimum bytes, maximum wait in ms).
BUSY = (BUSY_MIN_BYTES, BUSY_MAX_WAIT_MS)
QUIET = (QUIET_MIN_BYTES, QUIET_MAX_WAIT_MS)
BUSY_RECORDS_PER_SECOND = 100
RATE_WINDOW_SECONDS = 0.25


class FetchSizing:
    """One consumer's fetch minimum and wait, from the rate of records it was handed lately."""

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self._since = time.monotonic()
        self._records = 0
        self.busy = False
        self._on_change = on_change  # told the new state each time busy changes

    def handed_out(self, consumer: Any, records: int) -> None:
        """After each hand-out of fetched records (0 when a wait ran out)."""
        self._records += records
        now = time.monotonic()
        elapsed = now - self._since
        if elapsed < RATE_WINDOW_SECONDS:
            return
        was_busy = self.busy
        self.busy = self._records >= BUSY_RECORDS_PER_SECOND * elapsed
        self._since, self._records = now, 0
        if self.busy != was_busy and self._on_change is not None:
            self._on_change(self.busy)
        # aiokafka 0.14 reads both for each fetch request it builds (pinned in
        # setup.cfg; the workers check the version in streams/faust_fixes.py, and
        # tests/unit/test_faust_fixes.py checks that the Fetcher reads them so).
        fetcher = getattr(consumer, "_fetcher", None)
        if fetcher is not None:
            fetcher._fetch_min_bytes, fetcher._fetch_max_wait_ms = BUSY if self.busy else QUIET
