"""Crash and replay: whatever prefix of the changelog survives, nothing changes twice.

A model of ``kill -9``: the changelog partition keeps a prefix of the writes
sent (Kafka keeps order within a partition), the committed offset is at most the
first record with a write outside that prefix (Faust flushes before it
commits), and the records after it are applied again against the table
restored from that prefix, possibly crashing again. A record is one command or a
CommandBatch of several (any sizes, any mix of kinds): the agent decides a
record as one batch, so the model draws where the batches split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.stock_replay import OUT_OF_ORDER, REPAIRED, REPLAYED, Read, Step, handle
from agents.stock_rules import Located
from streams.records import ListProduct, ReserveOrder, RestockProduct
from tables.stock_records import order_table_key, product_table_key

T0 = 1_000_000.0


def command(spec: tuple[Any, ...], offset: int, index: int = 0) -> Located:
    kind, product_id = spec[0], spec[1]
    at = T0 + offset
    if kind == "list":
        body: Any = ListProduct(
            product_id=product_id,
            stock=spec[2],
            per_user_limit=2,
            price=10,
            sale_price=8,
            sale_starts_at=None,
            sale_ends_at=None,
            at=at,
        )
    elif kind == "restock":
        body = RestockProduct(product_id=product_id, qty=spec[2], at=at)
    else:
        body = ReserveOrder(
            product_id=product_id,
            order_id=f"o-{spec[2]}",
            member_id=spec[3],
            qty=spec[4],
            amount=8,
            hold_seconds=60,
            at=at,
        )
    return Located(body, 0, offset, index)


def records(spec_list: Sequence[tuple[Any, ...]], breaks: Sequence[bool]) -> list[list[Located]]:
    """The commands packed into records: a new record at a drawn break or another product
    (a CommandBatch holds one product's commands)."""
    packed: list[list[tuple[Any, ...]]] = []
    for spec, new in zip(spec_list, breaks, strict=False):
        if packed and not new and packed[-1][0][1] == spec[1]:
            packed[-1].append(spec)
        else:
            packed.append([spec])
    return [
        [command(spec, offset, index) for index, spec in enumerate(record)]
        for offset, record in enumerate(packed)
    ]


specs = st.lists(
    st.one_of(
        st.tuples(st.just("list"), st.sampled_from([7, 8]), st.integers(0, 6)),
        st.tuples(st.just("restock"), st.sampled_from([7, 8]), st.integers(1, 3)),
        st.tuples(
            st.just("reserve"),
            st.sampled_from([7, 8, 9]),
            st.integers(0, 25),
            st.integers(1, 5),
            st.integers(1, 3),
        ),
    ),
    min_size=1,
    max_size=60,
)


Handler = Callable[[Read, Sequence[Located]], Step]


class Run:
    """One worker run from the committed offset; records what it sent."""

    def __init__(
        self, durable: list[tuple[int, str, Any]], start: int, handler: Handler = handle
    ) -> None:
        self.table = {key: value for _, key, value in durable}
        self.start = start
        self.handler = handler
        self.sent: list[tuple[int, str, Any]] = []
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.outcomes: list[str] = []

    def apply(self, record: Sequence[Located]) -> None:
        step = self.handler(self.table.get, record)
        offset = record[0].offset
        for key, value in step.writes:
            self.table[key] = value
            self.sent.append((offset, key, value))
        self.events[offset] = step.events
        self.outcomes += step.outcomes


def clean_run(records: Sequence[Sequence[Located]], handler: Handler = handle) -> Run:
    run = Run([], 0, handler)
    for record in records:
        run.apply(record)
    return run


def crash(
    durable: list[tuple[int, str, Any]], run: Run, kept: float, committed: float
) -> tuple[list[tuple[int, str, Any]], int]:
    """The changelog and committed offset left by ``kill -9`` during ``run``."""
    survived = run.sent[: round(kept * len(run.sent))]
    lost = run.sent[len(survived) :]
    # Faust commits only offsets whose writes were flushed.
    limit = lost[0][0] if lost else run.start + len(run.events)
    return durable + survived, run.start + round(committed * (limit - run.start))


Crashes = list[tuple[float, float, float]]


def crash_and_replay(
    all_records: list[list[Located]], crashes: Crashes, handler: Handler = handle
) -> None:
    """Run with ``crashes`` (progress, changelog kept, commit point), then to the end;
    every record must emit what a run without a crash emits, and the table must end
    the same."""
    clean = clean_run(all_records, handler)
    durable: list[tuple[int, str, Any]] = []
    committed = 0
    for progress, kept, commit in crashes:
        run = Run(durable, committed, handler)
        for record in all_records[committed : committed + round(progress * len(all_records))]:
            run.apply(record)
        for offset, events in run.events.items():
            assert events == clean.events[offset], f"record {offset} decided differently"
        durable, committed = crash(durable, run, kept, commit)

    final = Run(durable, committed, handler)
    for record in all_records[committed:]:
        final.apply(record)
    for offset, events in final.events.items():
        assert events == clean.events[offset], f"record {offset} decided differently"
    assert final.table == clean.table


breaks = st.lists(st.booleans(), min_size=60, max_size=60)
crash_lists = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), max_size=4)


@settings(max_examples=400, deadline=None)
@given(specs, breaks, crash_lists)
def test_any_crash_sequence_ends_in_the_clean_state_with_the_same_events(
    spec_list: list[tuple[Any, ...]], splits: list[bool], crashes: Crashes
) -> None:
    crash_and_replay(records(spec_list, splits), crashes)


def product_written_last(read: Read, record: Sequence[Located]) -> Step:
    """The protocol broken on purpose: the product record sent after the others."""
    step = handle(read, record)
    return dataclasses.replace(step, writes=[*step.writes[1:], *step.writes[:1]])


def test_the_model_fails_a_protocol_that_writes_the_product_record_last() -> None:
    # Proof that the model can fail: a crash between an order's write and the product's
    # leaves an order whose units were never taken, and the replay sees a duplicate.
    @settings(max_examples=400, deadline=None, database=None)
    @given(specs, breaks, crash_lists)
    def broken(spec_list: list[tuple[Any, ...]], splits: list[bool], crashes: Crashes) -> None:
        crash_and_replay(records(spec_list, splits), crashes, product_written_last)

    with pytest.raises(AssertionError):
        broken()


def test_a_command_whose_product_write_survived_is_not_decided_again() -> None:
    commands = [
        [command(("list", 7, 1), 0)],
        [command(("reserve", 7, 1, 1, 1), 1)],
        [command(("reserve", 7, 2, 2, 1), 2)],
    ]
    clean = clean_run(commands)
    # Only the product record of command 1 survived: its order record is written again.
    product_only = [w for w in clean.sent if w[0] == 0] + [clean.sent[1]]
    assert product_only[-1][1] == product_table_key(7)
    replay = Run(product_only, 1)
    replay.apply(commands[1])
    replay.apply(commands[2])
    assert replay.outcomes == [REPAIRED, "SOLD_OUT"]
    assert replay.table[order_table_key("o-1")]["status"] == "RESERVED"
    assert replay.events[1] == clean.events[1]

    # Everything survived: nothing is written, the outcome is only repeated.
    again = Run(clean.sent, 1)
    again.apply(commands[1])
    assert again.outcomes == [REPLAYED] and again.sent == []
    assert again.events[1] == clean.events[1]


def test_a_reservation_delivered_after_a_later_command_is_reported_not_hidden() -> None:
    """What a consumer delivering 402 before 305 did: 305 looked like a replay."""
    commands = [
        [command(("list", 7, 5), 0)],
        [command(("reserve", 7, 1, 1, 1), 1)],
        [command(("reserve", 7, 2, 2, 1), 2)],
    ]
    out_of_order = Run([], 0)
    out_of_order.apply(commands[0])
    out_of_order.apply(commands[2])
    out_of_order.apply(commands[1])
    assert out_of_order.outcomes[-1] == OUT_OF_ORDER
    assert order_table_key("o-1") not in out_of_order.table


def test_a_batch_is_decided_in_list_order_with_one_product_write() -> None:
    batch = [
        command(("reserve", 7, 1, 1, 1), 1, 0),
        command(("reserve", 7, 2, 1, 1), 1, 1),  # the same member again: 2 units, its limit
        command(("reserve", 7, 3, 2, 1), 1, 2),
        command(("reserve", 7, 4, 3, 1), 1, 3),
    ]
    run = clean_run([[command(("list", 7, 3), 0)], batch])
    assert run.outcomes == ["LISTED", "RESERVED", "RESERVED", "RESERVED", "SOLD_OUT"]
    keys = [key for offset, key, _ in run.sent if offset == 1]
    assert keys[0] == product_table_key(7) and keys.count(product_table_key(7)) == 1
    product = run.table[product_table_key(7)]
    assert (product["remaining"], product["held"], product["last_offset"]) == (0, 3, 1)
    # Member 1's two orders leave one member record, with both units.
    assert run.table["m:7:1"] == {"units": 2}
    assert [(e["order_id"], e["command_offset"], e["command_index"]) for e in run.events[1]] == [
        ("o-1", 1, 0),
        ("o-2", 1, 1),
        ("o-3", 1, 2),
        ("o-4", 1, 3),
    ]
