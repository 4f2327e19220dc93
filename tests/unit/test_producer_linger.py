"""A worker's producer lingers while its consumer is busy, and sends at once at rest
(streams/producer_linger.py), on aiokafka's own producer and accumulator."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from streams import faust_fixes, fetching
from streams.fetching import BUSY_RECORDS_PER_SECOND, RATE_WINDOW_SECONDS
from streams.producer_linger import BUSY_LINGER_SECONDS, linger_while_busy

TP = TopicPartition("events", 0)


def _new_batch_linger(producer: AIOKafkaProducer) -> float:
    """How long a batch begun now would wait for more records."""
    accumulator = producer._message_accumulator
    batch = accumulator._append_batch(accumulator.create_builder(), TP)
    return float(batch._linger_time)


async def test_new_batches_linger_while_busy_and_not_at_rest() -> None:
    producer = AIOKafkaProducer(bootstrap_servers="localhost:1")  # never started
    assert _new_batch_linger(producer) == 0.0  # the worker's setting: send at once
    linger_while_busy(producer, True)
    assert _new_batch_linger(producer) == BUSY_LINGER_SECONDS
    linger_while_busy(producer, False)
    assert _new_batch_linger(producer) == 0.0


def test_a_producer_not_made_yet_is_left_alone() -> None:
    linger_while_busy(None, True)
    linger_while_busy(SimpleNamespace(), True)


def test_the_worker_consumer_rate_sets_the_app_producer_linger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(fetching.time, "monotonic", lambda: now[0])
    accumulator = SimpleNamespace(_linger_time=0.0)
    producer = SimpleNamespace(_message_accumulator=accumulator)
    app = SimpleNamespace(producer=SimpleNamespace(_producer=producer))
    fetcher = SimpleNamespace(_fetch_min_bytes=1, _fetch_max_wait_ms=40)
    thread = SimpleNamespace(app=app, _consumer=SimpleNamespace(_fetcher=fetcher))
    fast = int(2 * BUSY_RECORDS_PER_SECOND * RATE_WINDOW_SECONDS)

    def hand_out(*counts: int) -> None:
        for records in counts:  # one hand-out a rate window
            faust_fixes._size_fetches(thread, {TP: [None] * records})  # type: ignore[arg-type]
            now[0] += RATE_WINDOW_SECONDS

    hand_out(fast, fast)
    assert accumulator._linger_time == BUSY_LINGER_SECONDS
    hand_out(0, 0)
    assert accumulator._linger_time == 0.0
