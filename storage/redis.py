"""The Redis client every process uses for the fast read projections."""

from __future__ import annotations

from redis.asyncio import Redis


def create_redis(url: str) -> Redis:
    # Short timeouts: Redis is a fast path, and every caller has a fallback.
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        health_check_interval=5,
    )


async def redis_ok(client: Redis) -> bool:
    try:
        return bool(await client.ping())
    except Exception:  # any failure means "not ready"; callers only need the boolean
        return False
