"""The persistence agent in a real worker: order events in any order end as one row each."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from kit.processes import ManagedProcess
from storage.mysql import Database, MySQLConfig
from streams.settings import Settings
from tests.support.order_events import order_event, produce_order_events, query, wait_until
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

LIVES = [
    ["REJECTED"],
    ["RESERVED"],
    ["RESERVED", "PAID"],
    ["RESERVED", "PAID", "REFUNDED"],
    ["RESERVED", "PAYMENT_FAILED"],
    ["RESERVED", "CANCELLED"],
    ["RESERVED", "EXPIRED"],
]


def _sale(orders: int, total_events: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Events of ``orders`` orders padded with duplicates to ``total_events``, shuffled."""
    rnd = random.Random(seed)
    created = float(int(time.time()))
    events, final = [], {}
    for _ in range(orders):
        order_id = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
        life = rnd.choice(LIVES)
        events += [order_event(order_id, status, created, step) for step, status in enumerate(life)]
        final[order_id] = life[-1]
    events += [dict(rnd.choice(events)) for _ in range(total_events - len(events))]
    # Later statuses now often come before earlier ones, and duplicates after both.
    rnd.shuffle(events)
    return events, final


@pytest.fixture
async def db(fresh_settings: Settings) -> AsyncIterator[Database]:
    database = Database(fresh_settings.mysql_url)
    yield database
    database.close()


async def _stored(db: Database) -> dict[str, str]:
    return {
        r["order_id"]: r["status"] for r in await query(db, "SELECT order_id, status FROM orders")
    }


async def test_duplicates_and_out_of_order_events_end_at_the_latest_status(
    fresh_settings: Settings, worker_factory: Callable[..., ManagedProcess], db: Database
) -> None:
    events, final = _sale(orders=800, total_events=2000, seed=11)
    assert len(events) == 2000
    worker_factory(fresh_settings, name="saga-1", role="saga")
    await produce_order_events(fresh_settings, events)

    stored = await wait_until(lambda: _stored(db), lambda s: s == final, within=60)
    assert len(stored) == len(final)
    assert stored == final
    (row,) = await query(db, "SELECT COUNT(*) AS n FROM orders")
    assert row["n"] == 800


@pytest.fixture
def mysql_proxy(fresh_settings: Settings) -> Iterator[TcpProxy]:
    config = MySQLConfig.from_url(fresh_settings.mysql_url)
    proxy = TcpProxy(config.host, config.port).start()
    yield proxy
    proxy.close()


def _through(settings: Settings, proxy: TcpProxy) -> Settings:
    """The same settings with MySQL reached through the proxy."""
    config = MySQLConfig.from_url(settings.mysql_url)
    url = f"mysql://{config.user}:{config.password}@127.0.0.1:{proxy.port}/{config.database}"
    return dataclasses.replace(settings, mysql_url=url)


async def test_mysql_outage_is_waited_out_and_nothing_is_lost(
    fresh_settings: Settings,
    mysql_proxy: TcpProxy,
    worker_factory: Callable[..., ManagedProcess],
    db: Database,
) -> None:
    events, final = _sale(orders=1000, total_events=2500, seed=23)
    before, during = events[:500], events[500:]
    worker = worker_factory(_through(fresh_settings, mysql_proxy), name="saga-1", role="saga")
    await produce_order_events(fresh_settings, before)
    expected_before = len({e["order_id"] for e in before})
    stored = await wait_until(lambda: _stored(db), lambda s: len(s) == expected_before, within=60)
    assert len(stored) == expected_before

    mysql_proxy.cut()
    await produce_order_events(fresh_settings, during)
    # The outage lasts a few seconds (long enough for several retries and back-off).
    await asyncio.sleep(4)
    assert await _stored(db) == stored, "nothing can be written while MySQL is away"
    assert worker.alive
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{worker.web_port}/") as resp,  # type: ignore[attr-defined]
    ):
        assert resp.status == 200, "the worker keeps serving while it waits"

    mysql_proxy.restore()
    stored = await wait_until(lambda: _stored(db), lambda s: s == final, within=60)
    assert stored == final
    assert "MySQL failed" in worker.log()
