"""One order per member and ``Idempotency-Key``, whatever product a reuse of the key names.

A key's order id comes from the member and the key (api/order_ids.py), but the
stock agent that sees a repeat as a duplicate is the product's own: a key reused
for another product would reach another partition and make a second order with
the same id. So the first request that gets as far as producing claims the key
for its product in Redis (``SET NX``), and a later request that names another
product gets the key's order back instead of making one. With Redis down nothing
can be claimed and the request goes on (a limit stated in docs/guarantees.md).
"""

from __future__ import annotations

from aiohttp import web
from redis.exceptions import RedisError

from api.keys import REDIS, SETTINGS
from storage.order_projection import ORDER_TTL_SECONDS
from streams.keys import idempotency_key


async def claimed_for_another_product(app: web.Application, order_id: str, product_id: int) -> bool:
    """Claim the key's order for ``product_id``; True if it was claimed for another one."""
    key = idempotency_key(app[SETTINGS], order_id)
    try:
        # SET NX GET (Redis 7): the earlier claim, or None after claiming it now.
        earlier = await app[REDIS].set(key, product_id, nx=True, get=True, ex=ORDER_TTL_SECONDS)
    except (RedisError, OSError):
        return False
    return earlier is not None and int(earlier) != product_id
