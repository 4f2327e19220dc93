"""Each member's current token version, checked on every authenticated request.

The hot path costs no MySQL round trip: a small in-process cache answers first,
then Redis (``storage/token_version_store.py``), and MySQL only on a Redis miss
or outage. Whoever issues a token writes its version to Redis for the token's
lifetime, so a miss is rare (Redis lost its data, or the token predates this).

Staleness: an entry is trusted in-process for ``CACHE_SECONDS`` (1 s), so a
``logout-all`` on one API instance is honoured by every other instance within
1 s (immediately on the instance that served it). A ``logout-all`` is also
pushed to every instance (api/pushed_state.py), which is what the sold-out
refusal, made without any round trip, relies on. A ``logout-all`` that cannot
write Redis (Redis down) still counts (MySQL is the truth), and this instance
keeps retrying the Redis write every ``REPAIR_INTERVAL_SECONDS`` until it lands;
until then other instances may accept the revoked tokens. If the instance dies
before Redis returns, they do so at most until those tokens expire.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.background_tasks import stop_tasks
from api.tokens import ACCESS_TTL_SECONDS
from api.ttl_cache import MISSING, TtlCache
from storage import members as member_sql
from storage.mysql import Database
from storage.token_version_store import raise_version, record_revocation
from streams.redis_keys import revocations_channel, revocations_key, token_version_key
from streams.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 1.0
CACHE_MAX_ENTRIES = 200_000
REPAIR_INTERVAL_SECONDS = 1.0
REPAIR_GIVE_UP_SECONDS = ACCESS_TTL_SECONDS  # by then the revoked access tokens have expired


class TokenVersions:
    """Current token versions with a 1 s in-process cache; None for unknown members."""

    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        database: Database,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self._settings = settings
        self._redis = redis
        self._database = database
        self._cache: TtlCache[int, int | None] = TtlCache(cache_seconds, CACHE_MAX_ENTRIES)
        self._repairs: set[asyncio.Task[None]] = set()

    def cached(self, member_id: int) -> tuple[int | None] | None:
        """The version from the in-process cache if fresh (a 1-tuple), else None."""
        version = self._cache.get(member_id, time.monotonic(), MISSING)
        return None if version is MISSING else (version,)

    def remember(self, member_id: int, version: int | None) -> None:
        """A version just read by someone else (the intake script)."""
        self._cache.put(member_id, version, time.monotonic())

    async def current(self, member_id: int) -> int | None:
        now = time.monotonic()
        cached = self._cache.get(member_id, now, MISSING)
        if cached is not MISSING:
            return cached
        version = await self._lookup(member_id)
        self._cache.put(member_id, version, now)
        return version

    async def issued(self, member_id: int, version: int, ttl_seconds: int) -> None:
        """A token with ``version`` was just issued, valid for ``ttl_seconds``."""
        await self._try_redis(member_id, version, ttl_seconds)

    async def revoke_all(self, member_id: int) -> int:
        """Raise the member's version in MySQL (the truth), then in Redis and here."""
        version = await self._database.run(
            lambda cur: member_sql.bump_token_version(cur, member_id)
        )
        if not await self._try_redis(member_id, version, revoke=True):
            log.warning("token version of member %s not written to Redis; retrying", member_id)
            task = asyncio.create_task(self._repair(member_id, version))
            self._repairs.add(task)
            task.add_done_callback(self._repairs.discard)
        self._cache.put(member_id, version, time.monotonic())
        return version

    async def close(self) -> None:
        await stop_tasks(*self._repairs)

    async def _lookup(self, member_id: int) -> int | None:
        try:
            raw = await self._redis.get(token_version_key(self._settings, member_id))
        except (RedisError, OSError):
            return await self._from_mysql(member_id)
        if raw is not None:
            return int(raw)
        version = await self._from_mysql(member_id)
        if version is not None:
            await self._try_redis(member_id, version)
        return version

    async def _from_mysql(self, member_id: int) -> int | None:
        return await self._database.run(lambda cur: member_sql.token_version(cur, member_id))

    async def _repair(self, member_id: int, version: int) -> None:
        give_up_at = time.monotonic() + REPAIR_GIVE_UP_SECONDS
        while time.monotonic() < give_up_at:
            await asyncio.sleep(REPAIR_INTERVAL_SECONDS)
            if await self._try_redis(member_id, version, revoke=True):
                log.info("token version of member %s written to Redis", member_id)
                return

    async def _try_redis(
        self,
        member_id: int,
        version: int,
        ttl_seconds: int = ACCESS_TTL_SECONDS,
        revoke: bool = False,
    ) -> bool:
        """Raise the stored version; a revocation is also pushed to every API process."""
        settings = self._settings
        key = token_version_key(settings, member_id)
        try:
            if revoke:
                keys = (key, revocations_key(settings), revocations_channel(settings))
                await record_revocation(
                    self._redis, keys, member_id, version, ttl_seconds, time.time()
                )
            else:
                await raise_version(self._redis, key, version, ttl_seconds)
        except (RedisError, OSError):
            return False
        return True
