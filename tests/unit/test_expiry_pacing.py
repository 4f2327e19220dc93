"""Expiry proposals are paced by the stock agent's own answers, and not repeated meanwhile."""

from __future__ import annotations

import json

from agents.expire_holds import (
    IN_FLIGHT,
    PROPOSALS_PER_TICK,
    REPROPOSE_AFTER_SECONDS,
    TICK_SECONDS,
    Proposals,
    proposal,
)
from streams.records import CommandBatch, ExpireOrder, decode_commands


def _holds(count: int, start: int = 0) -> list[tuple[int, str]]:
    return [(n % 8, f"order-{n}") for n in range(start, start + count)]


def test_a_burst_is_proposed_a_tick_at_a_time_earliest_first() -> None:
    book = Proposals()
    due = _holds(20_000)
    assert book.pick(due, now=100.0) == due[:PROPOSALS_PER_TICK]
    second = book.pick(due, now=100.0 + TICK_SECONDS)
    assert second == due[PROPOSALS_PER_TICK : 2 * PROPOSALS_PER_TICK]


def test_no_more_than_the_window_is_in_flight_until_decisions_come_back() -> None:
    book = Proposals()
    due = _holds(20_000)
    proposed = []
    for tick in range(10):  # the stock agent answers none of them meanwhile
        proposed += book.pick(due, now=tick * TICK_SECONDS)
    assert proposed == due[:IN_FLIGHT]
    # The first 60 are decided: their holds leave the due list, and room opens.
    later = book.pick(due[60:], now=1.0)
    assert later == due[IN_FLIGHT : IN_FLIGHT + min(60, PROPOSALS_PER_TICK)]


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


def test_a_products_expiries_go_out_as_one_batch_record() -> None:
    commands = [ExpireOrder(product_id=7, order_id=f"o-{i}", at=1.0) for i in range(3)]
    record = proposal(commands)
    assert isinstance(record, CommandBatch)
    assert decode_commands(json.loads(record.dumps())) == commands
    assert proposal(commands[:1]) == commands[0]
