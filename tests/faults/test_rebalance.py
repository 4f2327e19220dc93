"""Partitions handed over mid-sale both ways: a third worker joins two, then one is killed.

The join moves partitions to the new worker (a clean hand-over: the old owner
commits and stops deciding them first); the ``kill -9`` leaves the dead worker's
partitions to the others once its session times out, and they restore its table
from the changelog. No order is decided twice: every event of an order, as
re-sent by any worker, is byte for byte the same; and the audit is clean.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Callable

import pytest

from streams.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ORDER_EVENTS
from tests.faults.rig import Apis, Rig, Workers, audit_clean, open_sale
from tests.support.sale import read_topic
from tests.support.stock_sale import worker_stock

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def owners(rig: Rig) -> dict[str, set[int]]:
    """The products each live worker serves from its table now."""
    served = {}
    for name, worker in rig.workers.items():
        if worker.alive:
            try:
                records = worker_stock(worker.web_port)
            except OSError:
                records = []
            served[name] = {int(r["product_id"]) for r in records}
    return served


async def until_served(
    rig: Rig, done: Callable[[dict[str, set[int]]], bool], within: float = 90.0
) -> dict[str, set[int]]:
    """Until what the live workers serve satisfies ``done``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        served = owners(rig)
        if done(served):
            return served
        await asyncio.sleep(0.2)
    raise AssertionError(f"not as expected: {owners(rig)}")


def every_product(rig: Rig) -> Callable[[dict[str, set[int]]], bool]:
    return lambda served: set().union(*served.values()) >= set(rig.products)


async def assert_no_order_decided_twice(settings: Settings) -> None:
    """Each (order, event) was sent as one and the same bytes, however often it was sent."""
    topic = ORDER_EVENTS.name(settings)
    records = await read_topic(settings, topic, until=lambda r: False, timeout=3)
    sent: dict[tuple[str, str], set[bytes]] = defaultdict(set)
    for record in records:
        event = json.loads(record.value)
        sent[event["order_id"], event["event"]].add(record.value)
    differing = {key: values for key, values in sent.items() if len(values) > 1}
    assert not differing, list(differing.items())[:3]
    assert len(sent) >= 1000, len(sent)


async def test_a_worker_joins_and_another_dies_mid_sale(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    # Six partitions, a product on each: the joining worker takes two of them (with four,
    # Faust's sticky assignment would leave it none), and any worker killed owns some.
    settings = settings_factory(app_id=settings_factory().app_id + "r", partitions=6)
    await ensure_topics(settings)
    two = ("worker-1", "worker-2")
    rig = await open_sale(settings, worker_factory, api_factory, two, plenty=5)
    buyers = rig.buyers()
    await buyers.until(acknowledged=200)
    rig.worker("worker-3")
    await until_served(rig, lambda served: bool(served.get("worker-3")))
    await until_served(rig, every_product(rig))
    await buyers.until_decided(150)
    served = owners(rig)
    victim = max(served, key=lambda name: len(served[name]))
    in_flight = sum(buyers.in_flight.values())
    rig.workers[victim].kill()
    taken_over = await until_served(rig, every_product(rig))
    await buyers.until_decided(150)
    await buyers.stop()
    print(f"\nserved before the kill {served}, after {taken_over}")
    await audit_clean(rig, buyers, f"worker joins, then kill -9 {victim}", in_flight)
    await assert_no_order_decided_twice(rig.settings)


# Every acknowledged order is decided and stored within this bound after the load stops.
DECIDED_WITHIN = 30.0


async def test_a_worker_joins_in_the_first_second_of_a_sale(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    # A brand-new group: the first orders are the heads of partitions nobody committed yet.
    settings = settings_factory(app_id=settings_factory().app_id + "e", partitions=6)
    await ensure_topics(settings)
    rig = await open_sale(settings, worker_factory, api_factory, ("worker-1",), plenty=5)
    buyers = rig.buyers()
    await asyncio.sleep(0.3)
    rig.worker("worker-2", wait=False)
    await until_served(rig, lambda served: len([s for s in served.values() if s]) == 2)
    await buyers.until_decided(300)
    in_flight = sum(buyers.in_flight.values())
    await buyers.stop()
    await audit_clean(
        rig, buyers, "a worker joins 0.3 s into the sale", in_flight, within=DECIDED_WITHIN
    )
