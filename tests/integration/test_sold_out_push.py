"""The sold-out fast path never refuses servable stock beyond its bound.

A real worker, saga worker and API. One unit is bought, so the API refuses
orders from its pushed sold-out set (409, no order). Then the unit comes back
three ways in turn: the buyer cancels, a hold expires, the admin restocks. All
the while a prober sends orders one after another (each waiting for its
decision) and a poller reads the product's stock hash in Redis every few
milliseconds. Whenever Redis shows units
left, the API must take an order sent within ``BOUND`` of that moment, and must
refuse none sent later while the units are still there (topology.md, "The API's
side": the flag follows the hash within 100 ms).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from streams.redis_keys import stock_key
from streams.settings import Settings

pytestmark = pytest.mark.integration

BOUND = 0.1  # seconds: topology.md's bound for the local flag to follow the stock hash
HOLD_SECONDS = 3
PROBE_GAP = 0.003  # between two probes
GRACE = 0.05  # a probe sent this close to the units going again may see them gone


@dataclass
class Probe:
    sent: float
    status: int
    body: dict[str, Any]

    @property
    def refused(self) -> bool:
        return self.status == 409 and self.body.get("order_id") is None


@dataclass
class Watch:
    """The prober's answers and the poller's readings, both on time.monotonic()."""

    probes: list[Probe] = field(default_factory=list)
    readings: list[tuple[float, int]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def reserved_after(self, moment: float) -> int:
        return sum(1 for p in self.probes if p.sent >= moment and p.status == 201)

    def refused_after(self, moment: float) -> int:
        return sum(1 for p in self.probes if p.sent >= moment and p.refused)

    def units_back(self) -> list[tuple[float, float]]:
        """Each stretch of time in which Redis showed units left: (from, until)."""
        stretches, began = [], None
        for at, remaining in self.readings:
            if remaining > 0 and began is None:
                began = at
            elif remaining == 0 and began is not None:
                stretches.append((began, at))
                began = None
        if began is not None:
            stretches.append((began, self.readings[-1][0]))
        return stretches


async def _poll(redis: Redis, key: str, watch: Watch) -> None:
    while not watch.stop.is_set():
        remaining = await redis.hget(key, "remaining")  # type: ignore[misc]
        watch.readings.append((time.monotonic(), int(remaining or 0)))
        await asyncio.sleep(0.001)


async def _probe(
    http: aiohttp.ClientSession, base: str, pool: list[Member], pid: int, watch: Watch
) -> None:
    while not watch.stop.is_set() and pool:
        member, sent = pool[0], time.monotonic()
        async with http.post(
            f"{base}/orders",
            json={"product_id": pid, "qty": 1},
            headers={**member.headers, "Prefer": "wait=5"},
        ) as resp:
            probe = Probe(sent, resp.status, dict(await resp.json()))
        watch.probes.append(probe)
        if probe.status == 201:
            pool.pop(0)  # this member holds the unit now
        else:  # refused at once, or taken and rejected by the stock agent (a race)
            assert probe.status == 409 and probe.body["reason"] == "SOLD_OUT", probe
        await asyncio.sleep(PROBE_GAP)


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.01)


async def test_units_coming_back_clear_the_sold_out_flag_within_the_bound(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
    redis_client: Redis,
) -> None:
    settings = dataclasses.replace(fresh_settings, hold_seconds=HOLD_SECONDS, rate_limit=0)
    worker_factory(settings)
    _, base = api_factory(settings)
    admin, *_ = seed_members(settings, 1, role="admin")
    buyer, *pool = seed_members(settings, 20)
    pid = (await list_product(base, admin, stock=1))["product_id"]
    watch = Watch()
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/orders",
            json={"product_id": pid, "qty": 1},
            headers={**buyer.headers, "Prefer": "wait=5"},
        ) as resp:
            assert resp.status == 201, await resp.text()
            bought = (await resp.json())["order_id"]
        tasks = [
            asyncio.create_task(_poll(redis_client, stock_key(settings, pid), watch)),
            asyncio.create_task(_probe(http, base, pool, pid, watch)),
        ]
        try:
            # 1. Sold out, then the buyer cancels.
            await _until(lambda: watch.refused_after(0) > 0)
            began = time.monotonic()
            async with http.post(
                f"{base}/orders/{bought}/cancel", headers={**buyer.headers, "Prefer": "wait=5"}
            ) as resp:
                assert resp.status == 200 and (await resp.json())["status"] == "CANCELLED"
            await _until(lambda: watch.reserved_after(began) == 1)
            # 2. A prober holds the unit; its hold expires.
            began = time.monotonic()
            await _until(lambda: watch.refused_after(began) > 0)
            await _until(lambda: watch.reserved_after(began) == 1, timeout=HOLD_SECONDS + 15)
            # 3. Another prober holds it; the admin restocks one unit meanwhile.
            began = time.monotonic()
            await _until(lambda: watch.refused_after(began) > 0)
            async with http.post(
                f"{base}/admin/products/{pid}/restock", json={"qty": 1}, headers=admin.headers
            ) as resp:
                assert resp.status == 202
            await _until(lambda: watch.reserved_after(began) == 1)
            await _until(lambda: watch.refused_after(watch.probes[-1].sent) > 0)
        finally:
            watch.stop.set()
            await asyncio.gather(*tasks)

    stretches = watch.units_back()
    previous_end = 0.0
    for began, ended in stretches:
        since = max(began - BOUND, previous_end)
        served = [p.sent for p in watch.probes if not p.refused and p.sent >= since]
        assert served and served[0] <= began + BOUND + PROBE_GAP + 0.02, (
            f"units were back at {began:.3f} but the first order taken was sent at "
            f"{served[0] if served else None}"
        )
        late = [p for p in watch.probes if p.refused and began + BOUND <= p.sent < ended - GRACE]
        assert not late, f"refused while Redis showed units: {late[:3]} in {began}..{ended}"
        previous_end = ended
