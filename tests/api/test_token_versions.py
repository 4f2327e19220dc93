"""Token versions against the real Redis and MariaDB: cache, revocation, fallback."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from api import token_versions
from api.token_versions import TokenVersions
from storage import members as member_sql
from storage.mysql import Database
from storage.redis import create_redis
from streams.keys import token_version_key
from streams.settings import Settings
from tests.support.processes import free_port

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
