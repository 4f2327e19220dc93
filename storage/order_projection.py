"""The order status projection in Redis: one hash per order, never moved backwards.

Writers (the API for PENDING, the projection agent for every later status) go
through ``write_orders``; a Lua script applies an update only if its status rank
is not below the stored one (see streams.statuses). Readers use ``read_order``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from redis.asyncio import Redis

from streams.keys import holds_key, order_key
from streams.settings import Settings
from streams.statuses import STATUS_RANK

# Redis is a cache of recent orders; MySQL keeps them all.
ORDER_TTL_SECONDS = 24 * 3600

FIELDS = (
    "order_id",
    "member_id",
    "product_id",
    "qty",
    "amount",
    "status",
    "reason",
    "created_at",
    "updated_at",
    "expires_at",
)

# KEYS: the order's hash, the set of live holds. ARGV: rank, ttl, hold member, field pairs.
# A RESERVED order is a live hold (scored by expires_at); any later status ends it.
APPLY_IF_NOT_OLDER = """
local stored = redis.call('HGET', KEYS[1], 'rank')
if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rank', ARGV[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'RESERVED' then
  redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'expires_at')), ARGV[3])
elseif status ~= 'PENDING' then
  redis.call('ZREM', KEYS[2], ARGV[3])
end
return 1
"""


def projection_keys(settings: Settings, order: Mapping[str, Any]) -> list[str]:
    return [order_key(settings, order["order_id"]), holds_key(settings)]


def projection_args(order: Mapping[str, Any]) -> list[str]:
    hold = f"{order['product_id']}:{order['order_id']}"
    args = [str(STATUS_RANK[order["status"]]), str(ORDER_TTL_SECONDS), hold]
    for name in FIELDS:
        value = order.get(name)
        args += [name, "" if value is None else str(value)]
    return args


async def write_orders(
    redis: Redis, settings: Settings, orders: Iterable[Mapping[str, Any]]
) -> None:
    """Apply each order update unless a later status is already stored (one round trip)."""
    script = redis.register_script(APPLY_IF_NOT_OLDER)
    batch = list(orders)
    if len(batch) == 1:
        # EVALSHA alone; a pipeline would first ask whether the script is loaded.
        await script(keys=projection_keys(settings, batch[0]), args=projection_args(batch[0]))
        return
    async with redis.pipeline(transaction=False) as pipe:
        for order in batch:
            await script(
                keys=projection_keys(settings, order), args=projection_args(order), client=pipe
            )
        await pipe.execute()


# KEYS: the order's hash. Drops a PENDING projection (of an order Kafka did not take).
FORGET_PENDING = """
if redis.call('HGET', KEYS[1], 'status') == 'PENDING' then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def forget_pending(redis: Redis, settings: Settings, order_id: str) -> None:
    """Remove the order's projection if it still says PENDING (one round trip)."""
    await redis.register_script(FORGET_PENDING)(keys=[order_key(settings, order_id)])


def projection_of(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The projection fields of an OrderEvent, or None if it is not one."""
    try:
        return {name: event[name] for name in FIELDS}
    except (KeyError, TypeError):
        return None


def typed_order(raw: Mapping[str, str]) -> dict[str, Any]:
    order: dict[str, Any] = {}
    for name in FIELDS:
        value = raw.get(name, "")
        if name in ("member_id", "product_id", "qty", "amount"):
            order[name] = int(value)
        elif name in ("created_at", "updated_at", "expires_at"):
            order[name] = float(value) if value else None
        else:
            order[name] = value or None
    return order


async def read_order(redis: Redis, settings: Settings, order_id: str) -> dict[str, Any] | None:
    """The projected order, times as epoch seconds; None if Redis does not know it."""
    raw: dict[str, str] = await redis.hgetall(order_key(settings, order_id))  # type: ignore[assignment]
    return typed_order(raw) if raw else None


async def due_holds(
    redis: Redis, settings: Settings, now: float, limit: int = 1000
) -> list[tuple[int, str]]:
    """(product_id, order_id) of live holds whose expiry is at or before ``now``."""
    members: list[str] = await redis.zrangebyscore(  # type: ignore[assignment]
        holds_key(settings), "-inf", now, start=0, num=limit
    )
    holds = []
    for member in members:
        product_id, _, order_id = member.partition(":")
        holds.append((int(product_id), order_id))
    return holds
