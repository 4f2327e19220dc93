"""The per-member rate limit against the real Redis: 429 with Retry-After, off at 0,
and open (not failing) when Redis is down."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from api.app_keys import REDIS, SETTINGS
from api.errors import error_middleware
from api.ratelimit import enforce_rate_limit
from kit.processes import free_port
from storage.redis import create_redis
from streams.settings import Settings

pytestmark = pytest.mark.integration

Client = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


async def limited(request: web.Request) -> web.Response:
    await enforce_rate_limit(request, int(request.match_info["member"]))
    return web.json_response({"ok": True})


async def client_for(aiohttp_client: Client, settings: Settings) -> TestClient[Any, Any]:
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[REDIS] = create_redis(settings.redis_url)

    async def close_redis(app: web.Application) -> None:
        await app[REDIS].aclose()

    app.on_cleanup.append(close_redis)
    app.router.add_post("/limited/{member}", limited)
    return await aiohttp_client(app)


async def statuses(client: TestClient[Any, Any], member: int, count: int) -> list[int]:
    return [(await client.post(f"/limited/{member}")).status for _ in range(count)]


async def start_of_a_second() -> None:
    # All requests of one check should fall into one one-second window.
    await asyncio.sleep(1.02 - time.time() % 1)


async def test_over_the_limit_is_429_with_retry_after(
    aiohttp_client: Client, fresh_settings: Settings, redis_client: object
) -> None:
    client = await client_for(aiohttp_client, dataclasses.replace(fresh_settings, rate_limit=3))
    await start_of_a_second()
    assert await statuses(client, 1, 3) == [200, 200, 200]
    resp = await client.post("/limited/1")
    assert resp.status == 429
    assert (await resp.json())["error"]["code"] == "RATE_LIMITED"
    assert resp.headers["Retry-After"] == "1"
    assert await statuses(client, 2, 1) == [200]  # per member


async def test_zero_turns_it_off(
    aiohttp_client: Client, fresh_settings: Settings, redis_client: object
) -> None:
    client = await client_for(aiohttp_client, dataclasses.replace(fresh_settings, rate_limit=0))
    await start_of_a_second()
    assert set(await statuses(client, 1, 30)) == {200}


async def test_redis_down_lets_requests_through(
    aiohttp_client: Client, fresh_settings: Settings
) -> None:
    down = dataclasses.replace(
        fresh_settings, rate_limit=1, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    client = await client_for(aiohttp_client, down)
    assert set(await statuses(client, 1, 3)) == {200}
