"""A busy worker's records leave in fewer produce requests: its producer lingers a few
milliseconds while its consumer is busy (streams/fetching.py, ``FetchSizing``), and
not at all at rest.

A Faust worker's producer (the stock worker's outcome events, the saga's payment
records and commands) sends as soon as its sender wakes: under load, one produce
request for each command record decided, each a socket write that wakes the broker.
In py-spy those writes were 13-17 % of the stock worker's time in a storm. Lingering
``BUSY_LINGER_SECONDS`` lets the records of the next few milliseconds share a
request: the flash storm answered 1.08 times as many requests a second, the
all-purchasable run's stock worker took 0.35 of a core instead of 0.40 and Kafka 0.19
instead of 0.22 for the same orders (bench/README.md, "Lingering while busy"). At rest
the same wait would only delay each answer (one order at a time answered in 11-20 ms
with it, 7-8 ms without), so a quiet worker sends at once.

The records' durability is unchanged (acks=all; a record is acknowledged when Kafka
has it), only when their request leaves.
"""

from __future__ import annotations

from typing import Any

BUSY_LINGER_SECONDS = 0.004


def linger_while_busy(producer: Any, busy: bool) -> None:
    """Set how long the aiokafka ``producer``'s next batches wait for more records.

    aiokafka 0.14 gives each new batch its accumulator's ``_linger_time`` (pinned in
    setup.cfg; tests/unit/test_producer_linger.py checks the name). A producer not
    started yet (no accumulator) is left alone; the next change sets it."""
    accumulator = getattr(producer, "_message_accumulator", None)
    if accumulator is not None:
        accumulator._linger_time = BUSY_LINGER_SECONDS if busy else 0.0
