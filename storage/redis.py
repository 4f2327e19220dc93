"""The Redis client every process uses for the fast read projections."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# A storm of requests shares a bounded pool (waiting briefly for a free
# connection) instead of opening a connection per request, which on a loaded
# machine turns into timeouts.
MAX_CONNECTIONS = 64
POOL_WAIT_SECONDS = 2.0


def create_redis(url: str) -> Redis:
    # Short timeouts: Redis is a fast path, and every caller has a fallback.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=True,
        socket_timeout=1.0,
        socket_connect_timeout=0.5,
        health_check_interval=5,
    )
    return Redis.from_pool(pool)


async def redis_ok(client: Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:  # any failure means "not ready"; callers only need the boolean
        return False
