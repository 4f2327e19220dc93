"""Publish each product's counters to Redis, batched, for fast reads.

The API answers 409 SOLD_OUT without producing when ``remaining`` is 0 there, and
``GET /products/{id}`` shows it. The stock agent only ``note``s the latest
product summary (no I/O on the decision path); ``run`` writes what changed every
few milliseconds in one pipeline, and at once when a product goes from 0 to
some units left, so buyers are let through again promptly. A Lua script keeps
the hash at the highest command offset, so a late or replayed write never
brings back older counters. Redis down: decisions go on, writes are retried.
The same script keeps the set of sold-out products (``sold_out_key``) and, when a
product reaches 0 or leaves it, publishes that on ``stock_changes_channel``: each
API process keeps its own sold-out set from these (api/pushed_state.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.backoff import Backoff
from streams.metrics import StockMetrics
from streams.redis_keys import sold_out_key, stock_changes_channel, stock_key
from streams.settings import Settings

log = logging.getLogger(__name__)

FLUSH_EVERY_SECONDS = 0.025
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 2.0

# KEYS: the product's stock hash, the sold-out set. ARGV: offset, stock, remaining, held,
# sold, product id, the stock-changes channel.
WRITE_IF_NEWER = """
local stored = redis.call('HGET', KEYS[1], 'offset')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
local was_out = redis.call('HGET', KEYS[1], 'remaining') == '0'
redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'stock', ARGV[2], 'remaining', ARGV[3],
           'held', ARGV[4], 'sold', ARGV[5])
local is_out = tonumber(ARGV[3]) <= 0
if is_out then
  redis.call('HSET', KEYS[2], ARGV[6], ARGV[1])
else
  redis.call('HDEL', KEYS[2], ARGV[6])
end
if is_out ~= was_out then
  redis.call('PUBLISH', ARGV[7], ARGV[6] .. ' ' .. ARGV[1] .. ' ' .. ARGV[3])
end
return 1
"""


async def write_stock(
    redis: Redis, settings: Settings, summaries: Iterable[Mapping[str, Any]]
) -> None:
    """Write each product's counters unless Redis has them at a later offset (one round trip)."""
    script = redis.register_script(WRITE_IF_NEWER)
    sold_out, channel = sold_out_key(settings), stock_changes_channel(settings)
    async with redis.pipeline(transaction=False) as pipe:
        for s in summaries:
            args = [s["last_offset"], s["stock"], s["remaining"], s["held"], s["sold"]]
            args += [s["product_id"], channel]
            keys = [stock_key(settings, s["product_id"]), sold_out]
            await script(keys=keys, args=args, client=pipe)
        await pipe.execute()


class StockProjection:
    def __init__(
        self,
        settings: Settings,
        redis: Callable[[], Redis],
        metrics: StockMetrics,
        every: float = FLUSH_EVERY_SECONDS,
    ) -> None:
        self._settings, self._redis, self._metrics, self._every = settings, redis, metrics, every
        self._pending: dict[int, Mapping[str, Any]] = {}
        self._remaining: dict[int, int] = {}
        self._wake = asyncio.Event()

    def note(self, summary: Mapping[str, Any]) -> None:
        """Remember a product's ``stock_summary`` after a command; never blocks."""
        product_id = summary["product_id"]
        self._pending[product_id] = summary
        previous = self._remaining.get(product_id)
        self._remaining[product_id] = summary["remaining"]
        if previous == 0 and summary["remaining"] > 0:
            self._wake.set()  # buyers are being refused at the API: tell it now

    def products(self) -> list[int]:
        """Every product noted since the worker started (its partitions' at start)."""
        return list(self._remaining)

    async def flush(self) -> int:
        """Write everything noted so far (how many products); on failure keep it."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        try:
            await write_stock(self._redis(), self._settings, batch.values())
        except BaseException:
            # Whatever was noted meanwhile is newer than the batch.
            self._pending = {**batch, **self._pending}
            raise
        finally:
            self._metrics.projection_lag.set(len(self._pending))
        return len(batch)

    async def run(self) -> None:
        """Flush every few milliseconds (or at once when woken) until cancelled."""
        backoff = Backoff(FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS)
        while True:
            with contextlib.suppress(TimeoutError):
                # While Redis fails the back-off replaces the interval; a wake-up cuts it short.
                await asyncio.wait_for(self._wake.wait(), backoff.delay or self._every)
            self._wake.clear()
            await self._flush_once(backoff)

    async def _flush_once(self, backoff: Backoff) -> None:
        try:
            written = await self.flush()
        except (RedisError, OSError) as exc:
            backoff.failed()
            if backoff.failures == 1:
                log.warning("Redis unavailable for the stock projection (%s); retrying", exc)
            self._metrics.projection_flushes.labels("failed").inc()
            return
        if backoff.succeeded():
            log.info("stock projection written to Redis again")
        if written:
            self._metrics.projection_flushes.labels("ok").inc()
