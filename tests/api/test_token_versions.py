"""Token versions against the real Redis and MariaDB: cache, revocation, fallback."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from api import token_versions
from api.token_versions import TokenVersions
from kit.processes import free_port
from storage import members as member_sql
from storage.mysql import Database
from storage.redis import create_redis
from streams.redis_keys import token_version_key
from streams.settings import Settings

pytestmark = pytest.mark.integration


async def test_revocation_reaches_another_instance_after_its_cache_ages(
    fresh_settings: Settings, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(fresh_settings.mysql_url)
    try:
        member_id = await db.run(lambda cur: member_sql.create(cur, "v@example.com", "V", "x"))
        here = TokenVersions(fresh_settings, redis_client, db)
        there = TokenVersions(fresh_settings, redis_client, db)
        assert await here.current(member_id) == 0
        assert await there.current(member_id) == 0
        assert await here.current(10**9) is None

        assert await here.revoke_all(member_id) == 1
        assert await redis_client.get(token_version_key(fresh_settings, member_id)) == "1"
        assert await here.current(member_id) == 1  # at once where it happened
        assert await there.current(member_id) == 0  # the other still trusts its cache

        clock = token_versions.time.monotonic() + token_versions.CACHE_SECONDS
        monkeypatch.setattr(token_versions.time, "monotonic", lambda: clock)
        assert await there.current(member_id) == 1
    finally:
        db.close()


async def test_redis_down_falls_back_to_mysql(fresh_settings: Settings) -> None:
    db = Database(fresh_settings.mysql_url)
    down = create_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        member_id = await db.run(lambda cur: member_sql.create(cur, "w@example.com", "W", "x"))
        versions = TokenVersions(fresh_settings, down, db)
        assert await versions.current(member_id) == 0
        assert await versions.revoke_all(member_id) == 1
        fresh = TokenVersions(fresh_settings, down, db)
        assert await fresh.current(member_id) == 1
    finally:
        await down.aclose()
        db.close()


async def test_issued_versions_are_only_raised_and_kept_for_the_longer_life(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    db = Database(fresh_settings.mysql_url)
    try:
        versions = TokenVersions(fresh_settings, redis_client, db)
        key = token_version_key(fresh_settings, 42)
        await versions.issued(42, 3, ttl_seconds=600)
        assert await redis_client.get(key) == "3"
        # A login that read version 2 just before a logout-all wrote 3 cannot undo it.
        await versions.issued(42, 2, ttl_seconds=60)
        assert await redis_client.get(key) == "3"
        assert await redis_client.ttl(key) > 60
        await versions.issued(42, 4, ttl_seconds=900)
        assert await redis_client.get(key) == "4"
        assert await redis_client.ttl(key) > 600
    finally:
        db.close()


async def test_a_revocation_redis_missed_is_written_once_redis_answers(
    fresh_settings: Settings, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_versions, "REPAIR_INTERVAL_SECONDS", 0.05)
    db = Database(fresh_settings.mysql_url)
    down = create_redis(f"redis://127.0.0.1:{free_port()}/0")
    versions = TokenVersions(fresh_settings, down, db)
    try:
        member_id = await db.run(lambda cur: member_sql.create(cur, "r@example.com", "R", "x"))
        key = token_version_key(fresh_settings, member_id)
        await redis_client.set(key, 0)  # what Redis held before it became unreachable
        assert await versions.revoke_all(member_id) == 1
        await asyncio.sleep(0.3)
        assert await redis_client.get(key) == "0"  # still unreachable: nothing written
        versions._redis = redis_client  # Redis answers again
        for _ in range(100):
            if await redis_client.get(key) == "1":
                break
            await asyncio.sleep(0.05)
        assert await redis_client.get(key) == "1"
    finally:
        await versions.close()
        await down.aclose()
        db.close()
