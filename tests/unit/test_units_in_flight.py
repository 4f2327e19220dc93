"""Holding orders while this API process's orders in flight cover the units left
(api/units_in_flight.py). The integration test of the same, through the real API,
Kafka and the stock worker, is tests/integration/test_order_holds.py."""

from __future__ import annotations

import asyncio

import pytest

from agents.stock_rules import ORDER_RESERVED
from api import units_in_flight
from api.units_in_flight import HOLD_SECONDS, UNITS_TAKEN_EVENT, UnitsInFlight


def remaining_of(box: list[int | None], reads: list[int] | None = None):  # type: ignore[no-untyped-def]
    async def remaining() -> int | None:
        await asyncio.sleep(0)  # a real read yields to the loop: other orders run meanwhile
        if reads is not None:
            reads.append(1)
        return box[0]

    return remaining


async def test_an_order_goes_at_once_when_none_of_this_process_is_in_flight() -> None:
    counter = UnitsInFlight()
    reads: list[int] = []
    claim = await counter.claim(1, "a", 1, remaining_of([0], reads))
    assert claim.held == 0.0 and reads == []  # not even a read: nothing of ours in flight
    assert counter.units(1) == 1


async def test_an_order_is_held_until_a_decision_makes_room() -> None:
    counter = UnitsInFlight()
    left = [1]
    first = await counter.claim(1, "a", 1, remaining_of(left))
    first.sent()
    waiting = asyncio.create_task(counter.claim(1, "b", 1, remaining_of(left)))
    await asyncio.sleep(0.02)
    assert not waiting.done()  # "a" already covers the one unit left
    left[0] = 0
    counter.remove("a")  # its decision: it took the unit
    second = await asyncio.wait_for(waiting, 1.0)
    assert 0.0 < second.held < HOLD_SECONDS  # went on at the decision, to be refused sold out
    assert counter.units(1) == 1


async def test_a_decision_wakes_held_orders_one_unit_at_a_time() -> None:
    counter = UnitsInFlight()
    left = [2]
    for order in ("a", "b"):
        (await counter.claim(1, order, 1, remaining_of(left))).sent()
    held = [asyncio.create_task(counter.claim(1, f"h{n}", 1, remaining_of(left))) for n in range(5)]
    await asyncio.sleep(0.02)
    counter.remove("a")  # a rejection: both units still left, one of ours in flight
    await asyncio.sleep(0.02)
    assert sum(task.done() for task in held) == 1  # the room for one order, taken by one
    assert counter.units(1) == 2
    for task in held:
        task.cancel()


async def test_no_order_is_held_longer_than_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(units_in_flight, "HOLD_SECONDS", 0.1)
    counter = UnitsInFlight()
    (await counter.claim(1, "a", 1, remaining_of([1]))).sent()
    claim = await asyncio.wait_for(counter.claim(1, "b", 1, remaining_of([1])), 1.0)
    assert claim.held >= 0.1  # its decision never came: it goes on anyway
    assert counter.units(1) == 2


async def test_units_left_unknown_hold_nothing() -> None:
    counter = UnitsInFlight()
    (await counter.claim(1, "a", 5, remaining_of([None]))).sent()
    claim = await counter.claim(1, "b", 5, remaining_of([None]))
    assert claim.held == 0.0


async def test_each_process_holds_for_its_share_of_the_units_left() -> None:
    counter = UnitsInFlight(processes=2)
    left = [4]
    (await counter.claim(1, "a", 1, remaining_of(left))).sent()
    (await counter.claim(1, "b", 1, remaining_of(left))).sent()  # 2 of its share of 2
    third = asyncio.create_task(counter.claim(1, "c", 1, remaining_of(left)))
    await asyncio.sleep(0.02)
    assert not third.done()
    left[0] = 6  # restocked: its share is 3 now
    await asyncio.wait_for(third, 1.0)


async def test_an_order_refused_or_not_taken_by_kafka_stops_counting() -> None:
    counter = UnitsInFlight()
    claim = await counter.claim(1, "a", 3, remaining_of([10]))
    claim.close()  # never sent
    assert counter.units(1) == 0 and not counter.tracking
    sent = await counter.claim(1, "b", 3, remaining_of([10]))
    sent.sent()
    sent.close()
    assert counter.units(1) == 3  # until its decision
    counter.remove("b")
    assert counter.units(1) == 0


async def test_a_decision_read_before_the_acknowledgement_leaves_nothing_counted() -> None:
    counter = UnitsInFlight()
    claim = await counter.claim(1, "a", 1, remaining_of([10]))
    counter.remove("a")  # the listener read its decision first
    claim.sent()
    claim.close()
    assert counter.units(1) == 0


async def test_a_product_far_from_sold_out_is_not_read_for_every_order() -> None:
    counter = UnitsInFlight()
    reads: list[int] = []
    for n in range(50):
        (await counter.claim(1, str(n), 1, remaining_of([10_000], reads))).sent()
    assert len(reads) == 1  # read once, then far from sold out for a second


async def test_orders_whose_decisions_were_never_read_stop_counting() -> None:
    now = [0.0]
    counter = UnitsInFlight(clock=lambda: now[0])
    (await counter.claim(1, "a", 2, remaining_of([10]))).sent()
    now[0] += units_in_flight.FORGET_SECONDS + 1
    (await counter.claim(2, "b", 1, remaining_of([10]))).sent()
    assert counter.units(1) == 0 and counter.units(2) == 1


def reserved(order_id: str, product_id: int = 1, qty: int = 1) -> dict[str, object]:
    return {"event": ORDER_RESERVED, "order_id": order_id, "product_id": product_id, "qty": qty}


async def test_units_reserved_since_the_read_are_taken_off_it() -> None:
    counter = UnitsInFlight()
    left = [3]  # Redis lags: it still says 3 after the reservations below
    for order in ("a", "b"):
        (await counter.claim(1, order, 1, remaining_of(left))).sent()  # "b" read 3
    counter.seen(reserved("a"))
    counter.seen(reserved("x"))  # another process's order took a unit too
    waiting = asyncio.create_task(counter.claim(1, "c", 1, remaining_of(left)))
    await asyncio.sleep(0.02)
    assert not waiting.done()  # 3 read, 2 taken since: the 1 left is "b"'s
    counter.seen({"event": "OrderRejected", "order_id": "b", "product_id": 1, "qty": 1})
    await asyncio.wait_for(waiting, 1.0)  # "b" rejected: its unit is left for "c"


async def test_a_reservation_seen_twice_is_taken_off_once() -> None:
    """A worker's replay sends the reservation's event again."""
    counter = UnitsInFlight()
    left = [4]
    (await counter.claim(1, "a", 1, remaining_of(left))).sent()
    (await counter.claim(1, "b", 1, remaining_of(left))).sent()  # "b" read 4
    for _ in range(3):
        counter.seen(reserved("x"))  # another process's order, seen three times
    counter.seen(reserved("a"))  # "b" in flight
    claimed = await asyncio.wait_for(counter.claim(1, "c", 1, remaining_of(left)), 1.0)
    # 4 read, 2 taken since ("x" and "a", each once): room for "b" and "c" at once.
    assert counter.units(1) == 2 and not claimed.held


def test_the_event_that_takes_units_is_the_stock_agents() -> None:
    assert UNITS_TAKEN_EVENT == ORDER_RESERVED


def test_an_event_without_a_product_changes_nothing_but_its_order() -> None:
    counter = UnitsInFlight()
    counter.add(1, "a", 1)
    counter.seen({"event": ORDER_RESERVED, "order_id": "a"})
    assert counter.units(1) == 0


async def test_a_retry_of_an_order_in_flight_counts_its_units_once() -> None:
    counter = UnitsInFlight()
    (await counter.claim(1, "a", 2, remaining_of([10]))).sent()
    (await counter.claim(1, "a", 2, remaining_of([10]))).sent()  # same Idempotency-Key
    assert counter.units(1) == 2
    counter.remove("a")
    assert counter.units(1) == 0 and not counter.tracking
