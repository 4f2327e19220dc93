"""Apply one record of stock commands so that a replay after ``kill -9`` changes nothing twice.

A record (one command, or a CommandBatch of one product's commands) is decided as
one batch: its commands in list order, then one write of the product record for
the whole record, then the other records the batch changed, then its events.
The agent may see a record again (at-least-once) against a table that holds any
prefix of the writes it made before the crash: they all go to one changelog
partition, in order, the product record first. So the product's ``last_offset``
tells what survived of the record at offset ``o``:

- ``last_offset > o``: a later record's first write survived, hence all of ``o``'s:
  write nothing, repeat each command's events from its order record;
- ``last_offset == o``: the product record survived, maybe not the others: write
  again the records it lists as ``pending`` (same values), repeat the events;
- ``last_offset < o``: nothing of ``o`` survived, the state is the one the first
  run saw: decide again, which gives the same decisions and the same events.

A record is never split: its commands are decided together on every run, so the
batch boundaries are the producer's and the same on a replay.

Pure: ``handle`` reads through a function and returns the writes to make, in
order, and the events to send.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from agents.stock_rules import Located, State, decide
from tables.stock_records import (
    JsonObject,
    Product,
    member_record,
    member_table_key,
    member_units,
    order_from_record,
    order_table_key,
    order_to_record,
    product_from_record,
    product_table_key,
    product_to_record,
)

Read = Callable[[str], JsonObject | None]

# How a command was handled, for metrics: a fresh decision's outcome, or one of these.
LISTED, RESTOCKED, DUPLICATE, REPLAYED, REPAIRED, NOT_HANDLED = (
    "LISTED",
    "RESTOCKED",
    "DUPLICATE",
    "REPLAYED",
    "REPAIRED",
    "NOT_HANDLED",
)
# A reservation below the product's last offset whose order the table does not know:
# every decided reservation leaves an order, so this one was delivered after a later
# command and is never decided. Kafka delivers a partition in order; this names a
# consumer that did not (streams/faust_fixes.py, fixes 5 and 6), loudly.
OUT_OF_ORDER = "OUT_OF_ORDER"


@dataclass(frozen=True)
class Step:
    """What to do for one record: ``writes`` in this order, then send ``events``.

    ``outcomes`` has one entry per command of the record, in its order.
    """

    writes: list[tuple[str, JsonObject]]
    events: list[JsonObject]
    product: JsonObject
    outcomes: list[str]


def handle(read: Read, record: Sequence[Located]) -> Step:
    """Decide (or replay) one record's commands: one product, one offset, in order."""
    first = record[0]
    product = read(product_table_key(first.body.product_id))
    last_offset = -1 if product is None else product["last_offset"]
    if product is not None and last_offset > first.offset:
        events: list[JsonObject] = []
        outcomes = []
        for command in record:
            own = repeated_events(read, command)
            skipped = not own and command.body.kind == "ReserveOrder"
            outcomes.append(OUT_OF_ORDER if skipped else REPLAYED)
            events += own
        return Step([], events, product, outcomes)
    if product is not None and last_offset == first.offset:
        writes = [(key, value) for key, value in product["pending"]]
        rewritten = dict(writes)

        def after_rewrite(key: str) -> JsonObject | None:
            return rewritten.get(key) or read(key)

        events = [event for command in record for event in repeated_events(after_rewrite, command)]
        return Step(writes, events, product, [REPAIRED] * len(record))
    return _decided(read, record)


def keys_read(record: Sequence[Located]) -> list[str]:
    """The keys ``handle`` reads for this record that the commands name (the product,
    each command's order and member), for a caller that fetches them at once; it may
    read others (the member of an order a command names only by id)."""
    product_id = record[0].body.product_id
    keys = [product_table_key(product_id)]
    for command in record:
        body: Any = command.body
        if _names_an_order(body):
            keys.append(order_table_key(body.order_id))
            member_id = getattr(body, "member_id", None)
            if member_id is not None:
                keys.append(member_table_key(product_id, member_id))
    return keys


def _decided(read: Read, record: Sequence[Located]) -> Step:
    product_id = record[0].body.product_id
    product = product_from_record(product_id, read(product_table_key(product_id)))
    # What the record's earlier commands wrote, in the order first written: later
    # commands of the batch read through it.
    written: dict[str, JsonObject] = {}

    def current(key: str) -> JsonObject | None:
        return written[key] if key in written else read(key)

    events: list[JsonObject] = []
    outcomes = []
    for command in record:
        body: Any = command.body
        state = _state(current, body, product)
        new, own = decide(state, command, body.at)
        if new.order is not None and new.order != state.order:
            written[order_table_key(new.order.order_id)] = order_to_record(new.order)
        if new.member_units != state.member_units:
            assert new.order is not None  # units change only with an order
            written[member_table_key(product_id, new.order.member_id)] = member_record(
                new.member_units
            )
        product = new.product
        events += own
        outcomes.append(_outcome(body.kind, state, own))
    others = list(written.items())
    pending = [[key, value] for key, value in others]
    product_record = product_to_record(product, record[0].offset, pending)
    # The product record goes first: its surviving means the record's decisions did.
    writes = [(product_table_key(product_id), product_record), *others]
    return Step(writes, events, product_record, outcomes)


def _state(read: Read, body: Any, product: Product) -> State:
    if not _names_an_order(body):
        return State(product)
    order = order_from_record(read(order_table_key(body.order_id)))
    # Expiry and payment commands carry no member: the order knows it.
    member_id = order.member_id if order is not None else getattr(body, "member_id", None)
    if member_id is None:
        return State(product, order)
    units = member_units(read(member_table_key(body.product_id, member_id)))
    return State(product, order, units)


def _names_an_order(body: Any) -> bool:
    return body.kind not in ("ListProduct", "RestockProduct")


def _outcome(kind: str, state: State, events: list[JsonObject]) -> str:
    if kind == "ListProduct":
        return LISTED
    if kind == "RestockProduct":
        return RESTOCKED
    if kind != "ReserveOrder":
        return str(events[0]["event"]) if events else NOT_HANDLED
    if state.order is not None:
        return DUPLICATE
    return str(events[0]["reason"] or events[0]["status"])


def repeated_events(read: Read, command: Located) -> list[JsonObject]:
    """The events the command at this place emitted the first time it was applied."""
    body: Any = command.body
    if not _names_an_order(body):
        return []
    order = read(order_table_key(body.order_id))
    if order is None:
        return []
    place = command.place
    own = [e for e in order["events"] if _place(e) == place]
    # None of its own: the command changed nothing, which repeats the latest event.
    return own or order["events"][-1:]


def _place(event: JsonObject) -> tuple[int, int, int]:
    # Events written before CommandBatch existed carry no index: they were bare commands.
    return (event["command_partition"], event["command_offset"], event.get("command_index", 0))
