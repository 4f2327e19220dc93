"""Apply one stock command so that a replay after ``kill -9`` changes nothing twice.

The agent may see a command again (at-least-once) against a table that holds any
prefix of the writes it made before the crash: all of a command's writes go to
one changelog partition, in order, the product record first. So the product's
``last_offset`` tells what survived of the command at offset ``o``:

- ``last_offset > o``: a later command's first write survived, hence all of ``o``'s:
  write nothing, repeat ``o``'s events from the order record;
- ``last_offset == o``: the product record survived, maybe not the others: write
  again the records it lists as ``pending`` (same values), repeat the events;
- ``last_offset < o``: nothing of ``o`` survived, the state is the one the first
  run saw: decide again, which gives the same decision and the same events.

Pure: ``handle`` reads through a function and returns the writes to make, in
order, and the events to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agents.stock_rules import Located, State, decide
from tables.stock_records import (
    Record,
    member_key,
    member_record,
    member_units,
    order_from_record,
    order_key,
    order_to_record,
    product_from_record,
    product_key,
    product_to_record,
)

Read = Callable[[str], Record | None]

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
# consumer that did not (streams/faust_fixes.py, fix 5), loudly.
OUT_OF_ORDER = "OUT_OF_ORDER"


@dataclass(frozen=True)
class Step:
    """What to do for one command: ``writes`` in this order, then send ``events``."""

    writes: list[tuple[str, Record]]
    events: list[Record]
    product: Record
    outcome: str


def handle(read: Read, command: Located) -> Step:
    product = read(product_key(command.body.product_id))
    last_offset = -1 if product is None else product["last_offset"]
    if product is not None and last_offset > command.offset:
        events = repeated_events(read, command)
        skipped = not events and command.body.kind == "ReserveOrder"
        return Step([], events, product, OUT_OF_ORDER if skipped else REPLAYED)
    if product is not None and last_offset == command.offset:
        writes = [(key, value) for key, value in product["pending"]]
        rewritten = dict(writes)
        events = repeated_events(lambda key: rewritten.get(key) or read(key), command)
        return Step(writes, events, product, REPAIRED)
    return _decided(read, command)


def _decided(read: Read, command: Located) -> Step:
    body: Any = command.body
    state = _state(read, body)
    new, events = decide(state, command, body.at)
    others: list[tuple[str, Record]] = []
    if new.order is not None and new.order != state.order:
        others.append((order_key(new.order.order_id), order_to_record(new.order)))
    if new.member_units != state.member_units:
        assert new.order is not None  # units change only with an order
        key = member_key(body.product_id, new.order.member_id)
        others.append((key, member_record(new.member_units)))
    pending = [[key, value] for key, value in others]
    product = product_to_record(new.product, command.offset, pending)
    # The product record goes first: its surviving means the command's decision did.
    writes = [(product_key(body.product_id), product), *others]
    return Step(writes, events, product, _outcome(body.kind, state, events))


def _state(read: Read, body: Any) -> State:
    product = product_from_record(body.product_id, read(product_key(body.product_id)))
    if not _names_an_order(body):
        return State(product)
    order = order_from_record(read(order_key(body.order_id)))
    # Expiry and payment commands carry no member: the order knows it.
    member_id = order.member_id if order is not None else getattr(body, "member_id", None)
    if member_id is None:
        return State(product, order)
    units = member_units(read(member_key(body.product_id, member_id)))
    return State(product, order, units)


def _names_an_order(body: Any) -> bool:
    return body.kind not in ("ListProduct", "RestockProduct")


def _outcome(kind: str, state: State, events: list[Record]) -> str:
    if kind == "ListProduct":
        return LISTED
    if kind == "RestockProduct":
        return RESTOCKED
    if kind != "ReserveOrder":
        return str(events[0]["event"]) if events else NOT_HANDLED
    if state.order is not None:
        return DUPLICATE
    return str(events[0]["reason"] or events[0]["status"])


def repeated_events(read: Read, command: Located) -> list[Record]:
    """The events the command at this place emitted the first time it was applied."""
    body: Any = command.body
    if not _names_an_order(body):
        return []
    order = read(order_key(body.order_id))
    if order is None:
        return []
    place = (command.partition, command.offset)
    own = [e for e in order["events"] if (e["command_partition"], e["command_offset"]) == place]
    # None of its own: the command changed nothing, which repeats the latest event.
    return own or order["events"][-1:]
