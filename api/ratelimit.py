"""Per-member rate limit for order, pay and cancel: a fixed one-second window in Redis.

``FLASHSALE_RATE_LIMIT`` requests per member per second (0 turns it off). One
pipelined round trip: INCR the window's counter (``streams.redis_keys.rate_key``) and
give it a short expiry. If Redis is down the request goes through: the limiter
protects capacity, it must not become an outage of its own.
"""

from __future__ import annotations

import logging
import math
import time

from aiohttp import web
from redis.exceptions import RedisError

from api.app_keys import REDIS, SETTINGS
from api.errors import ApiError
from streams.redis_keys import rate_key

log = logging.getLogger(__name__)

WINDOW_TTL_SECONDS = 2


async def enforce_rate_limit(request: web.Request, member_id: int) -> None:
    """Raise 429 RATE_LIMITED (with Retry-After) when the member is over the limit."""
    limit = request.app[SETTINGS].rate_limit
    if limit <= 0:
        return
    now = time.time()
    window = int(now)
    key = rate_key(request.app[SETTINGS], member_id, window)
    try:
        async with request.app[REDIS].pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW_TTL_SECONDS)
            count, _ = await pipe.execute()
    except (RedisError, OSError):
        log.warning("rate limiter unavailable; letting the request through")
        return
    if int(count) > limit:
        retry_after = max(1, math.ceil(window + 1 - now))
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"more than {limit} requests per second",
            headers={"Retry-After": str(retry_after)},
        )
