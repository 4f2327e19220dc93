"""Each member's current token version, checked on every authenticated request.

The hot path costs no MySQL round trip: a small in-process cache answers first,
then Redis (``streams.keys.token_version_key``), and MySQL only on a Redis miss
or outage. Staleness: an entry is trusted for ``CACHE_SECONDS`` (1 s), so a
``logout-all`` on one API instance is honoured by every other instance within
1 s (immediately on the instance that served it). Redis entries expire after
``REDIS_TTL_SECONDS``, which bounds how long a version Redis missed while it was
unreachable can linger after it comes back.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage import members as member_sql
from storage.mysql import Database
from streams.keys import token_version_key
from streams.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 1.0
CACHE_MAX_ENTRIES = 200_000
REDIS_TTL_SECONDS = 60


class TokenVersions:
    """Current token versions with a 1 s in-process cache; None for unknown members."""

    def __init__(self, settings: Settings, redis: Redis, database: Database) -> None:
        self._settings = settings
        self._redis = redis
        self._database = database
        self._cache: dict[int, tuple[int | None, float]] = {}

    async def current(self, member_id: int) -> int | None:
        now = time.monotonic()
        hit = self._cache.get(member_id)
        if hit is not None and now - hit[1] < CACHE_SECONDS:
            return hit[0]
        version = await self._lookup(member_id)
        self._remember(member_id, version, now)
        return version

    async def _lookup(self, member_id: int) -> int | None:
        key = token_version_key(self._settings, member_id)
        try:
            raw = await self._redis.get(key)
        except (RedisError, OSError):
            return await self._from_mysql(member_id)
        if raw is not None:
            return int(raw)
        version = await self._from_mysql(member_id)
        if version is not None:
            # NX: never overwrite a newer version a concurrent logout-all just wrote.
            await self._try_redis(key, version, only_if_absent=True)
        return version

    async def _from_mysql(self, member_id: int) -> int | None:
        return await self._database.run(lambda cur: member_sql.token_version(cur, member_id))

    async def revoke_all(self, member_id: int) -> int:
        """Raise the member's version in MySQL (the truth), then in Redis and here."""
        version = await self._database.run(
            lambda cur: member_sql.bump_token_version(cur, member_id)
        )
        if not await self._try_redis(token_version_key(self._settings, member_id), version):
            log.warning("token version of member %s not written to Redis", member_id)
        self._remember(member_id, version, time.monotonic())
        return version

    async def _try_redis(self, key: str, version: int, only_if_absent: bool = False) -> bool:
        try:
            await self._redis.set(key, version, ex=REDIS_TTL_SECONDS, nx=only_if_absent)
        except (RedisError, OSError):
            return False
        return True

    def _remember(self, member_id: int, version: int | None, now: float) -> None:
        if len(self._cache) >= CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[member_id] = (version, now)
