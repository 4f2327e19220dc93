"""Redis answers through the app's own client (storage.redis), with app-id-scoped keys."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from kit.processes import free_port
from storage.redis import create_redis, redis_ok
from streams.redis_keys import stock_key
from streams.settings import Settings

pytestmark = pytest.mark.integration


async def test_redis_is_reachable_through_the_app_client(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    assert await redis_ok(redis_client) is True
    key = stock_key(fresh_settings, 7)
    assert key.startswith(f"{fresh_settings.app_id}:")
    await redis_client.hset(key, mapping={"remaining": 3, "sold": 0})
    # decode_responses: callers get str, not bytes.
    assert await redis_client.hgetall(key) == {"remaining": "3", "sold": "0"}


async def test_an_unreachable_redis_is_reported_not_raised() -> None:
    client = create_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await redis_ok(client) is False
    finally:
        await client.aclose()
