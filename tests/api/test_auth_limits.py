"""Login and sign-up limits against the real Redis: per client address, per account,
off at 0, answered 429 RATE_LIMITED with Retry-After."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from api.app_keys import REDIS, REFUSED_ADDRESSES, SETTINGS
from api.auth_limits import (
    ACCOUNT_LIMIT,
    WINDOW_SECONDS,
    enforce_auth_limits,
    refuse_a_known_flood,
)
from api.errors import error_middleware
from api.refused_addresses import RefusedAddresses
from storage.redis import create_redis
from streams.settings import Settings

pytestmark = pytest.mark.integration

Client = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def settings(base_settings: Settings) -> AsyncIterator[Settings]:
    """A fresh app id (so fresh counters) and no database: these limits only use Redis."""
    fresh = dataclasses.replace(base_settings, app_id=f"t{uuid.uuid4().hex[:10]}")
    yield fresh
    redis = create_redis(fresh.redis_url)
    keys = [key async for key in redis.scan_iter(match=f"{fresh.app_id}:*", count=10_000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def limited(request: web.Request) -> web.Response:
    refuse_a_known_flood(request, request.match_info["action"])
    await enforce_auth_limits(request, request.match_info["action"], request.match_info["email"])
    return web.json_response({"ok": True})


async def client_for(aiohttp_client: Client, settings: Settings) -> TestClient[Any, Any]:
    app = web.Application(middlewares=[error_middleware])
    app[SETTINGS] = settings
    app[REDIS] = create_redis(settings.redis_url)
    app[REFUSED_ADDRESSES] = RefusedAddresses()

    async def close_redis(app: web.Application) -> None:
        await app[REDIS].aclose()

    app.on_cleanup.append(close_redis)
    app.router.add_post("/{action}/{email}", limited)
    # Every check of a test falls into one window.
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 5:
        await asyncio.sleep(left + 0.05)
    return await aiohttp_client(app)


async def statuses(client: TestClient[Any, Any], action: str, emails: list[str]) -> list[int]:
    return [(await client.post(f"/{action}/{email}")).status for email in emails]


async def test_one_address_gets_its_limit_a_minute_then_429(
    aiohttp_client: Client, settings: Settings
) -> None:
    client = await client_for(aiohttp_client, dataclasses.replace(settings, auth_rate_limit=5))
    emails = [f"m{n}@example.com" for n in range(5)]
    assert await statuses(client, "login", emails) == [200] * 5
    resp = await client.post("/login/m9@example.com")
    assert resp.status == 429
    body = await resp.json()
    assert set(body) == {"error"} and body["error"]["code"] == "RATE_LIMITED", body
    assert 1 <= int(resp.headers["Retry-After"]) <= WINDOW_SECONDS
    assert await statuses(client, "signup", emails[:1]) == [200]  # counted apart
    # Refused from now on without asking Redis: even its counters gone change nothing.
    redis = create_redis(settings.redis_url)
    await redis.delete(
        *[key async for key in redis.scan_iter(f"{settings.app_id}:*login*", count=10_000)]
    )
    await redis.aclose()
    assert await statuses(client, "login", ["m0@example.com"]) == [429]


async def test_one_account_gets_its_limit_a_minute_from_any_address(
    aiohttp_client: Client, settings: Settings
) -> None:
    client = await client_for(aiohttp_client, settings)
    guesses = ["victim@example.com"] * ACCOUNT_LIMIT
    assert await statuses(client, "login", guesses) == [200] * ACCOUNT_LIMIT
    resp = await client.post("/login/victim@example.com")
    assert resp.status == 429 and "Retry-After" in resp.headers
    assert await statuses(client, "login", ["other@example.com"]) == [200]


async def test_zero_turns_both_off(aiohttp_client: Client, settings: Settings) -> None:
    client = await client_for(aiohttp_client, dataclasses.replace(settings, auth_rate_limit=0))
    assert set(await statuses(client, "login", ["a@example.com"] * 30)) == {200}
