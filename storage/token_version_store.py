"""Members' token versions in Redis: only ever raised, kept as long as the tokens need them.

A member's entry is written whenever a token is issued (login, refresh,
``flashsale-admin seed-members``), when a lookup missed Redis and read MySQL,
and by ``logout-all``. Versions only grow, so every write raises the stored
value to the larger of the two (a login that read version 3 from MySQL cannot
undo a logout-all that just wrote 4), and keeps the longer of the two lifetimes.
A token's issuer writes the entry with the token's own lifetime, so every
unexpired token finds its member's version in Redis and the request that
carries it costs no MySQL round trip.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from redis.asyncio import Redis

# KEYS: the member's entry. ARGV: version, seconds it must live at least.
RAISE = """
local version = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local stored = tonumber(redis.call('GET', KEYS[1]))
if stored and stored > version then version = stored end
local left = redis.call('TTL', KEYS[1])
if left > ttl then ttl = left end
redis.call('SET', KEYS[1], version, 'EX', ttl)
return version
"""


# KEYS: the member's entry, the recent revocations. ARGV: version, ttl, member id, now,
# how long revocations are kept, the revocations channel. RAISE, then tell every API process.
REVOKE = (
    RAISE.rsplit("return version", 1)[0]
    + """
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3] .. ':' .. version)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[5]))
redis.call('PUBLISH', ARGV[6], ARGV[3] .. ' ' .. version .. ' ' .. ARGV[4])
return version
"""
)


async def record_revocation(
    client: Redis,
    keys: tuple[str, str, str],
    member_id: int,
    version: int,
    ttl_seconds: int,
    now: float,
) -> int:
    """``raise_version``, and publish the revocation (``keys``: the member's entry, the
    recent revocations, their channel), kept for ``ttl_seconds`` (api/pushed_state.py)."""
    entry, recent, channel = keys
    script = client.register_script(REVOKE)
    args: list[str | int | float] = [version, ttl_seconds, member_id, now, ttl_seconds, channel]
    return int(await script(keys=[entry, recent], args=args))


async def raise_version(client: Redis, key: str, version: int, ttl_seconds: int) -> int:
    """Store at least ``version`` for at least ``ttl_seconds``; the version now stored."""
    script = client.register_script(RAISE)
    stored = await script(keys=[key], args=[version, ttl_seconds])
    return int(stored)


def raise_versions(
    client: redis.Redis, entries: Iterable[tuple[str, int]], ttl_seconds: int
) -> None:
    """``raise_version`` for many (key, version) pairs in one pipeline (synchronous)."""
    script = client.register_script(RAISE)
    with client.pipeline(transaction=False) as pipe:
        for key, version in entries:
            script(keys=[key], args=[version, ttl_seconds], client=pipe)
        pipe.execute()
