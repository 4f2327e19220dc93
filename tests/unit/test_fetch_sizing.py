"""A consumer asks for 16 KB a fetch, waiting 20 ms at most, while records come fast,
and for the first byte, waiting 40 ms, while they come slowly (streams/fetching.py,
``FetchSizing``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from streams import fetching
from streams.fetching import BUSY, QUIET, QUIET_MAX_WAIT_MS, QUIET_MIN_BYTES, FetchSizing


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(fetching.time, "monotonic", clock.monotonic)
    return clock


def _consumer() -> SimpleNamespace:
    return SimpleNamespace(
        _fetcher=SimpleNamespace(
            _fetch_min_bytes=QUIET_MIN_BYTES, _fetch_max_wait_ms=QUIET_MAX_WAIT_MS
        )
    )


def _asks_for(consumer: SimpleNamespace) -> tuple[int, int]:
    return consumer._fetcher._fetch_min_bytes, consumer._fetcher._fetch_max_wait_ms


def test_records_faster_than_the_busy_rate_ask_for_16_kb_in_20_ms_then_a_byte_in_40(
    clock: _Clock,
) -> None:
    consumer, sizing = _consumer(), FetchSizing()
    for _ in range(6):  # 30 records each 50 ms: 600 a second
        clock.now += 0.05
        sizing.handed_out(consumer, 30)
    assert sizing.busy and _asks_for(consumer) == BUSY
    for _ in range(6):  # 2 records each 50 ms: 40 a second
        clock.now += 0.05
        sizing.handed_out(consumer, 2)
    assert not sizing.busy and _asks_for(consumer) == QUIET


def test_the_size_moves_only_once_a_window_has_passed(clock: _Clock) -> None:
    consumer, sizing = _consumer(), FetchSizing()
    clock.now += 0.01
    sizing.handed_out(consumer, 1000)  # a burst, but 10 ms is no rate yet
    assert _asks_for(consumer) == QUIET
    clock.now += fetching.RATE_WINDOW_SECONDS
    sizing.handed_out(consumer, 0)
    assert _asks_for(consumer) == BUSY


def test_waits_that_ran_out_count_as_time_without_records(clock: _Clock) -> None:
    consumer, sizing = _consumer(), FetchSizing()
    consumer._fetcher._fetch_min_bytes, consumer._fetcher._fetch_max_wait_ms = BUSY
    for _ in range(3):
        clock.now += 0.2
        sizing.handed_out(consumer, 0)
    assert _asks_for(consumer) == QUIET


def test_a_consumer_not_started_yet_is_left_alone(clock: _Clock) -> None:
    clock.now += 1.0
    FetchSizing().handed_out(SimpleNamespace(), 10_000)  # no _fetcher: nothing to set


def test_the_owner_is_told_each_change_of_state_once(clock: _Clock) -> None:
    told: list[bool] = []
    consumer, sizing = _consumer(), FetchSizing(on_change=told.append)
    for records in (30, 30, 30, 30, 1, 1, 1, 1):  # busy for a while, then quiet
        clock.now += fetching.RATE_WINDOW_SECONDS
        sizing.handed_out(consumer, records)
    assert told == [True, False]
