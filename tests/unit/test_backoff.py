"""The shared back-off: waits grow from ``first``, stop at ``cap``, start over on a success."""

from __future__ import annotations

from itertools import accumulate, repeat

from storage.backoff import Backoff


def test_the_waits_double_from_first_and_stop_at_the_cap() -> None:
    backoff = Backoff(first=0.1, cap=2.0)
    assert [backoff.failed() for _ in range(8)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    assert backoff.failures == 8


def test_the_waits_are_the_floats_the_loops_computed_before() -> None:
    # storage/retrying.py and agents/project_order_status.py waited 0.1, then min(2x, cap).
    backoff = Backoff(first=0.1, cap=5.0)
    before = list(accumulate(repeat(0.1, 12), lambda wait, _: min(wait * 2, 5.0)))
    assert [backoff.failed() for _ in range(12)] == before


def test_a_success_starts_over() -> None:
    backoff = Backoff(first=0.1, cap=5.0)
    assert backoff.succeeded() == 0  # no outage to end
    for _ in range(3):
        backoff.failed()
    assert backoff.succeeded() == 3
    assert (backoff.delay, backoff.failures) == (0.0, 0)
    assert backoff.failed() == 0.1
    assert backoff.failures == 1


def test_no_wait_while_attempts_succeed() -> None:
    # The stock projection waits ``delay or interval``: 0 means its usual interval.
    backoff = Backoff(first=0.1, cap=2.0)
    assert backoff.delay == 0.0
    backoff.failed()
    assert backoff.delay == 0.1
    backoff.succeeded()
    assert backoff.delay == 0.0
