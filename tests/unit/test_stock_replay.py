"""Crash and replay: whatever prefix of the changelog survives, nothing changes twice.

A model of ``kill -9``: the changelog partition keeps a prefix of the writes
sent (Kafka keeps order within a partition), the committed offset is at most the
first command with a write outside that prefix (Faust flushes before it
commits), and the commands after it are applied again against the table
restored from that prefix, possibly crashing again.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.stock_replay import OUT_OF_ORDER, REPAIRED, REPLAYED, handle
from agents.stock_rules import Located
from streams.records import ListProduct, ReserveOrder, RestockProduct
from tables.stock_records import order_key, product_key

T0 = 1_000_000.0


def command(spec: tuple[Any, ...], offset: int) -> Located:
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
    return Located(body, 0, offset)


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


class Run:
    """One worker run from the committed offset; records what it sent."""

    def __init__(self, durable: list[tuple[int, str, Any]], start: int) -> None:
        self.table = {key: value for _, key, value in durable}
        self.start = start
        self.sent: list[tuple[int, str, Any]] = []
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.outcomes: list[str] = []

    def apply(self, located: Located) -> None:
        step = handle(self.table.get, located)
        for key, value in step.writes:
            self.table[key] = value
            self.sent.append((located.offset, key, value))
        self.events[located.offset] = step.events
        self.outcomes.append(step.outcome)


def clean_run(commands: list[Located]) -> Run:
    run = Run([], 0)
    for located in commands:
        run.apply(located)
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


@settings(max_examples=400, deadline=None)
@given(specs, st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), max_size=4))
def test_any_crash_sequence_ends_in_the_clean_state_with_the_same_events(
    spec_list: list[tuple[Any, ...]], crashes: list[tuple[float, float, float]]
) -> None:
    commands = [command(spec, offset) for offset, spec in enumerate(spec_list)]
    clean = clean_run(commands)

    durable: list[tuple[int, str, Any]] = []
    committed = 0
    for progress, kept, commit in crashes:
        run = Run(durable, committed)
        for located in commands[committed : committed + round(progress * len(commands))]:
            run.apply(located)
        for offset, events in run.events.items():
            assert events == clean.events[offset], f"command {offset} decided differently"
        durable, committed = crash(durable, run, kept, commit)

    final = Run(durable, committed)
    for located in commands[committed:]:
        final.apply(located)
    for offset, events in final.events.items():
        assert events == clean.events[offset], f"command {offset} decided differently"
    assert final.table == clean.table


def test_a_command_whose_product_write_survived_is_not_decided_again() -> None:
    commands = [
        command(("list", 7, 1), 0),
        command(("reserve", 7, 1, 1, 1), 1),
        command(("reserve", 7, 2, 2, 1), 2),
    ]
    clean = clean_run(commands)
    # Only the product record of command 1 survived: its order record is written again.
    product_only = [w for w in clean.sent if w[0] == 0] + [clean.sent[1]]
    assert product_only[-1][1] == product_key(7)
    replay = Run(product_only, 1)
    replay.apply(commands[1])
    replay.apply(commands[2])
    assert replay.outcomes == [REPAIRED, "SOLD_OUT"]
    assert replay.table[order_key("o-1")]["status"] == "RESERVED"
    assert replay.events[1] == clean.events[1]

    # Everything survived: nothing is written, the outcome is only repeated.
    again = Run(clean.sent, 1)
    again.apply(commands[1])
    assert again.outcomes == [REPLAYED] and again.sent == []
    assert again.events[1] == clean.events[1]


def test_a_reservation_delivered_after_a_later_command_is_reported_not_hidden() -> None:
    """What a consumer delivering 402 before 305 did: 305 looked like a replay."""
    commands = [
        command(("list", 7, 5), 0),
        command(("reserve", 7, 1, 1, 1), 1),
        command(("reserve", 7, 2, 2, 1), 2),
    ]
    out_of_order = Run([], 0)
    out_of_order.apply(commands[0])
    out_of_order.apply(commands[2])
    out_of_order.apply(commands[1])
    assert out_of_order.outcomes[-1] == OUT_OF_ORDER
    assert order_key("o-1") not in out_of_order.table
