"""The Redis stock projection: batched, never older, and patient while Redis is down."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from storage.stock_projection import StockProjection, write_stock
from streams.metrics import StockMetrics
from streams.redis_keys import stock_key
from streams.settings import Settings

pytestmark = pytest.mark.integration


def record(product_id: int, offset: int, remaining: int, stock: int = 10) -> dict[str, Any]:
    held = stock - remaining
    return {
        "product_id": product_id,
        "listed": True,
        "stock": stock,
        "remaining": remaining,
        "held": held,
        "sold": 0,
        "last_offset": offset,
        "pending": [],
    }


async def test_an_older_offset_never_overwrites_a_newer_one(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    await write_stock(redis_client, fresh_settings, [record(1, offset=9, remaining=3)])
    await write_stock(redis_client, fresh_settings, [record(1, offset=4, remaining=8)])
    stored = await redis_client.hgetall(stock_key(fresh_settings, 1))
    assert stored == {"offset": "9", "stock": "10", "remaining": "3", "held": "7", "sold": "0"}
    await write_stock(redis_client, fresh_settings, [record(1, offset=10, remaining=2)])
    assert await redis_client.hget(stock_key(fresh_settings, 1), "remaining") == "2"


async def test_only_the_latest_counters_are_written_once_per_batch(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    projection = StockProjection(
        fresh_settings, lambda: redis_client, StockMetrics(CollectorRegistry())
    )
    for offset in range(5):
        projection.note(record(2, offset, remaining=10 - offset))
    projection.note(record(3, 7, remaining=1))
    assert await projection.flush() == 2
    assert await redis_client.hget(stock_key(fresh_settings, 2), "remaining") == "6"
    assert await projection.flush() == 0


async def test_redis_down_keeps_the_counters_for_later(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    target: list[Redis] = [down]
    metrics = StockMetrics(CollectorRegistry())
    projection = StockProjection(fresh_settings, lambda: target[0], metrics)
    projection.note(record(4, 1, remaining=5))
    with pytest.raises((RedisConnectionError, OSError)):
        await projection.flush()
    projection.note(record(5, 2, remaining=1))
    target[0] = redis_client
    assert await projection.flush() == 2
    assert await redis_client.hget(stock_key(fresh_settings, 4), "remaining") == "5"
    await down.aclose()


async def test_units_coming_back_are_published_at_once(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    registry = StockMetrics(CollectorRegistry())
    projection = StockProjection(fresh_settings, lambda: redis_client, registry, every=3600)
    projection.note(record(6, 1, remaining=0))
    task = asyncio.create_task(projection.run())
    try:
        await asyncio.sleep(0.05)  # the first flush waits for the (hour-long) interval
        assert await redis_client.hget(stock_key(fresh_settings, 6), "remaining") is None
        projection.note(record(6, 2, remaining=1))  # 0 -> 1: buyers must be let in again
        for _ in range(100):
            if await redis_client.hget(stock_key(fresh_settings, 6), "remaining") == "1":
                break
            await asyncio.sleep(0.01)
        assert await redis_client.hget(stock_key(fresh_settings, 6), "remaining") == "1"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_redis_down_backs_off_then_resumes_the_interval(
    fresh_settings: Settings,
    redis_client: Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from storage import stock_projection as module

    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    target: list[Redis] = [down]
    registry = CollectorRegistry()
    projection = StockProjection(
        fresh_settings, lambda: target[0], StockMetrics(registry), every=0.025
    )
    projection.note(record(8, 1, remaining=3))
    waits: list[float] = []

    async def wait_for(awaitable: Any, timeout: float) -> None:
        """Record the wait instead of waiting; Redis comes back after the sixth."""
        awaitable.close()
        waits.append(timeout)
        if len(waits) == 7:
            target[0] = redis_client
        if len(waits) == 9:
            raise asyncio.CancelledError
        raise TimeoutError

    monkeypatch.setattr(module, "asyncio", SimpleNamespace(wait_for=wait_for))
    with (
        caplog.at_level(logging.INFO, logger=module.__name__),
        pytest.raises(asyncio.CancelledError),
    ):
        await projection.run()

    assert waits == [0.025, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 0.025, 0.025]
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]
    assert await redis_client.hget(stock_key(fresh_settings, 8), "remaining") == "3"
    flushes = "flashsale_stock_projection_flushes_total"
    assert registry.get_sample_value(flushes, {"result": "failed"}) == 6
    assert registry.get_sample_value(flushes, {"result": "ok"}) == 1
    await down.aclose()
