"""The order status projection in Redis: one hash per order, never moved backwards.

Writers (the API for PENDING, the projection agent for every later status) go
through ``write_orders``; a Lua script applies an update only if its status rank
is not below the stored one (see streams.statuses). Readers use ``read_order``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from redis.asyncio import Redis

from streams.redis_keys import holds_key, order_status_key
from streams.settings import Settings
from streams.shapes import ORDER_FIELDS, ORDER_TIMES, ORDER_TYPES
from streams.statuses import PENDING, RESERVED, STATUS_RANK

# Redis is a cache of recent orders; MySQL keeps them all.
ORDER_TTL_SECONDS = 24 * 3600

# The hash's fields: the order's (streams.shapes), and its own ``rank`` (the status's,
# which the scripts compare).
FIELDS = ORDER_FIELDS
_INTS = tuple(name for name, kind in ORDER_TYPES.items() if kind is int)

# KEYS: the set of live holds, then each order's hash. ARGV: the hashes' ttl, then a
# JSON list with, for each hash of KEYS in turn, [rank, hold member, hold, field,
# value, field, value...], every item a string. ``hold`` is "add" (a RESERVED order is
# a live hold, scored by its expires_at), "end" (any later status ends it) or "" (a
# PENDING order is not one yet). A batch is one script call: one round trip, and
# its arguments are packed once instead of once an order.
APPLY_IF_NOT_OLDER = """
local ttl = tonumber(ARGV[1])
local applied = 0
for i, order in ipairs(cjson.decode(ARGV[2])) do
  local key = KEYS[i + 1]
  local stored = redis.call('HGET', key, 'rank')
  if not (stored and tonumber(stored) > tonumber(order[1])) then
    redis.call('HSET', key, 'rank', order[1], unpack(order, 4))
    redis.call('EXPIRE', key, ttl)
    if order[3] == 'add' then
      redis.call('ZADD', KEYS[1], tonumber(redis.call('HGET', key, 'expires_at')), order[2])
    elseif order[3] == 'end' then
      redis.call('ZREM', KEYS[1], order[2])
    end
    applied = applied + 1
  end
end
return applied
"""


def _hold(order: Mapping[str, Any]) -> str:
    """What the update does to the order's hold (a RESERVED one without an expiry has none)."""
    if order["status"] == RESERVED:
        return "add" if order.get("expires_at") is not None else ""
    return "" if order["status"] == PENDING else "end"


def projection_entry(order: Mapping[str, Any]) -> list[str]:
    """[rank, hold member, hold, field, value, ...]: one order's update, as the script takes it."""
    hold = f"{order['product_id']}:{order['order_id']}"
    entry = [str(STATUS_RANK[order["status"]]), hold, _hold(order)]
    for name in FIELDS:
        value = order.get(name)
        entry += [name, "" if value is None else str(value)]
    return entry


async def write_orders(
    redis: Redis, settings: Settings, orders: Iterable[Mapping[str, Any]]
) -> None:
    """Apply each order update unless a later status is already stored, in list order
    (one round trip)."""
    batch = list(orders)
    if not batch:
        return
    keys = [
        holds_key(settings),
        *(order_status_key(settings, order["order_id"]) for order in batch),
    ]
    args: list[str | bytes] = [
        str(ORDER_TTL_SECONDS),
        orjson.dumps([projection_entry(order) for order in batch]),
    ]
    await redis.register_script(APPLY_IF_NOT_OLDER)(keys=keys, args=args)


# KEYS: the order's hash. Drops a PENDING projection (of an order Kafka did not take).
FORGET_PENDING = """
if redis.call('HGET', KEYS[1], 'status') == 'PENDING' then return redis.call('DEL', KEYS[1]) end
return 0
"""


async def forget_pending(redis: Redis, settings: Settings, order_id: str) -> None:
    """Remove the order's projection if it still says PENDING (one round trip)."""
    await redis.register_script(FORGET_PENDING)(keys=[order_status_key(settings, order_id)])


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
        if name in _INTS:
            order[name] = int(value)
        elif name in ORDER_TIMES:
            order[name] = float(value) if value else None
        else:
            order[name] = value or None
    return order


async def read_order(redis: Redis, settings: Settings, order_id: str) -> dict[str, Any] | None:
    """The projected order, times as epoch seconds; None if Redis does not know it."""
    raw: dict[str, str] = await redis.hgetall(order_status_key(settings, order_id))  # type: ignore[assignment]
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
