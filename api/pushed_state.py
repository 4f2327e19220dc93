"""What Redis pushes to each API process: sold-out products and recent logout-alls.

The stock projection publishes on ``stock_changes_channel`` whenever a product's
``remaining`` reaches 0 or leaves it, and keeps the set of sold-out products
(storage/stock_projection.py); ``logout-all`` publishes on ``revocations_channel``
and keeps the last 15 minutes of revocations (api/token_versions.py). Each API
process subscribes, then reads both sets (so nothing published in between is
missed), and from then on answers "is this product sold out?" and "is this token
revoked?" from memory: the sold-out refusal costs no round trip at all.

Only while it is trusted: subscribed, resynchronised, and heard from (a ping
answered) within ``SILENT_SECONDS``. A lost or silent connection makes
``trusted`` false at once; callers then read Redis as before, never refuse. Each
(re)subscription starts from a fresh read of both sets.

Bound: the projection publishes in the same script that writes the product's
stock hash, which the stock worker does at once when units come back, so a flag
clears one pub/sub delivery after the hash shows units (milliseconds; tested
against 100 ms, tests/integration/test_sold_out_push.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from api.background_tasks import stop_tasks
from api.tokens import ACCESS_TTL_SECONDS
from streams.redis_keys import (
    revocations_channel,
    revocations_key,
    sold_out_key,
    stock_changes_channel,
)
from streams.settings import Settings

log = logging.getLogger(__name__)

PING_EVERY_SECONDS = 0.5
SILENT_SECONDS = 2.0
RETRY_SECONDS = 0.5
# A revocation matters only while a token issued before it can still be unexpired.
REVOCATION_SECONDS = ACCESS_TTL_SECONDS


class ResyncNeeded(Exception):
    """The subscription was re-established behind our back: what we hold may be stale."""


class PushedState:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._channels = (stock_changes_channel(settings), revocations_channel(settings))
        self._sold_out: set[int] = set()
        self._offsets: dict[int, int] = {}  # last change seen per product (offset order)
        self._revoked: dict[int, tuple[int, float]] = {}  # member -> (version, at)
        self._trusted = False
        self._heard_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self.resyncs = 0  # how many times the state was read afresh (for tests)

    # -- what the order path asks -------------------------------------------------

    @property
    def trusted(self) -> bool:
        return self._trusted and time.monotonic() - self._heard_at < SILENT_SECONDS

    def sold_out(self, product_id: int) -> bool | None:
        """True/False from the pushed set; None when it cannot be trusted now."""
        if not self.trusted:
            return None
        return product_id in self._sold_out

    def revoked(self, member_id: int, version: int) -> bool | None:
        """Whether a token of ``version`` was revoked by a pushed logout-all; None if unknown."""
        if not self.trusted:
            return None
        entry = self._revoked.get(member_id)
        return entry is not None and entry[0] > version

    # -- applying what Redis says -------------------------------------------------

    def apply_stock_change(self, product_id: int, offset: int, remaining: int) -> None:
        if offset <= self._offsets.get(product_id, -1):
            return  # an older change than one already applied
        self._offsets[product_id] = offset
        if remaining <= 0:
            self._sold_out.add(product_id)
        else:
            self._sold_out.discard(product_id)

    def apply_revocation(self, member_id: int, version: int, at: float) -> None:
        known = self._revoked.get(member_id)
        if known is None or known[0] < version:
            self._revoked[member_id] = (version, at)

    def _forget_everything(self) -> None:
        self._trusted = False
        self._sold_out.clear()
        self._offsets.clear()
        self._revoked.clear()

    def _prune_revocations(self, now: float) -> None:
        old = [m for m, (_, at) in self._revoked.items() if at < now - REVOCATION_SECONDS]
        for member_id in old:
            del self._revoked[member_id]

    def _on_message(self, message: dict[str, Any]) -> None:
        fields = str(message["data"]).split()
        if message["channel"] == self._channels[0] and len(fields) == 3:
            self.apply_stock_change(int(fields[0]), int(fields[1]), int(fields[2]))
        elif message["channel"] == self._channels[1] and len(fields) == 3:
            self.apply_revocation(int(fields[0]), int(fields[1]), float(fields[2]))

    # -- the subscription ---------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="pushed-state")

    async def stop(self) -> None:
        await stop_tasks(self._task)

    async def _run_forever(self) -> None:
        while True:
            # No retries: a reconnect inside redis-py would resubscribe silently
            # and skip what was published meanwhile.
            client = Redis.from_url(
                self._settings.redis_url,
                decode_responses=True,
                socket_connect_timeout=0.5,
                socket_timeout=1.0,
                retry=Retry(NoBackoff(), 0),
                client_name=f"{self._settings.app_id}:pushed-state",
            )
            try:
                await self._follow(client)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ResyncNeeded, ValueError) as exc:
                if self._trusted:
                    log.warning("sold-out pushes lost (%s); reading Redis instead", exc)
            finally:
                self._forget_everything()
                await client.aclose()
            await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self, client: Redis) -> None:
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(*self._channels)
            confirmed, early = 0, []
            while confirmed < len(self._channels):
                message = await pubsub.get_message(timeout=SILENT_SECONDS)
                if message is None:
                    raise ResyncNeeded("no subscription confirmation")
                if message["type"] == "subscribe":
                    confirmed += 1
                elif message["type"] == "message":
                    early.append(message)
            await self._read_snapshot(client)
            for message in early:  # offsets keep the newer of the two
                self._on_message(message)
            self._heard_at = time.monotonic()
            self._trusted = True
            self.resyncs += 1
            await self._listen(pubsub)
        finally:
            await pubsub.aclose()

    async def _read_snapshot(self, client: Redis) -> None:
        """Both sets, read after subscribing: changes published since are still queued."""
        now = time.time()
        async with client.pipeline(transaction=False) as pipe:
            pipe.hgetall(sold_out_key(self._settings))
            pipe.zrangebyscore(
                revocations_key(self._settings), now - REVOCATION_SECONDS, "+inf", withscores=True
            )
            sold_out, revocations = await pipe.execute()
        for product_id, offset in sold_out.items():
            self.apply_stock_change(int(product_id), int(offset), 0)
        for entry, at in revocations:
            member_id, _, version = entry.partition(":")
            self.apply_revocation(int(member_id), int(version), float(at))

    async def _listen(self, pubsub: PubSub) -> None:
        pinged_at = 0.0
        while True:
            now = time.monotonic()
            if now - pinged_at >= PING_EVERY_SECONDS:
                await pubsub.ping()
                pinged_at = now
                self._prune_revocations(time.time())
            if now - self._heard_at >= SILENT_SECONDS:
                raise ResyncNeeded("Redis has not answered a ping")
            message = await pubsub.get_message(timeout=PING_EVERY_SECONDS)
            if message is None:
                continue
            self._heard_at = time.monotonic()
            if message["type"] == "message":
                self._on_message(message)
            elif message["type"] == "subscribe":
                raise ResyncNeeded("resubscribed")
