"""Expiry proposals are paced and not repeated while their decision is on its way."""

from __future__ import annotations

from agents.expire_holds import (
    PROPOSALS_PER_TICK,
    REPROPOSE_AFTER_SECONDS,
    TICK_SECONDS,
    Proposals,
)


def _holds(count: int) -> list[tuple[int, str]]:
    return [(n % 8, f"order-{n}") for n in range(count)]


def test_a_burst_is_proposed_a_tick_at_a_time_earliest_first() -> None:
    book = Proposals()
    due = _holds(20_000)
    first = book.pick(due, now=100.0)
    assert first == due[:PROPOSALS_PER_TICK]
    second = book.pick(due, now=100.0 + TICK_SECONDS)
    assert second == due[PROPOSALS_PER_TICK : 2 * PROPOSALS_PER_TICK]
    # 20,000 holds take 40 s to propose at 500 a second.
    assert 20_000 / (PROPOSALS_PER_TICK / TICK_SECONDS) == 40.0


def test_a_proposal_is_repeated_only_once_its_decision_is_overdue() -> None:
    book = Proposals()
    due = _holds(10)
    assert len(book.pick(due, now=0.0)) == 10
    assert book.pick(due, now=REPROPOSE_AFTER_SECONDS - 1) == []
    assert book.pick(due, now=REPROPOSE_AFTER_SECONDS) == due


def test_mysql_is_swept_once_per_period() -> None:
    book = Proposals()
    assert book.sweep_due(1000.0)
    assert not book.sweep_due(1000.1)
    assert book.sweep_due(1030.0)
