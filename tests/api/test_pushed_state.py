"""The pushed sold-out set and revocations against the real Redis: the stock
projection's own script publishes, a lost connection is never trusted, and a
resubscription starts from what Redis holds (nothing missed meanwhile)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from api.pushed_state import PushedState
from storage.stock_projection import write_stock
from storage.token_version_store import record_revocation
from streams.redis_keys import revocations_channel, revocations_key, token_version_key
from streams.settings import Settings

pytestmark = pytest.mark.integration

PUSH_BOUND = 0.1  # the bound topology.md states for a flag to follow the stock hash


def _stock(product_id: int, offset: int, remaining: int) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "last_offset": offset,
        "stock": 10,
        "remaining": remaining,
        "held": 10 - remaining,
        "sold": 0,
    }


async def _within(seconds: float, condition: Callable[[], bool]) -> float:
    """How long ``condition`` took to hold; fails after ``seconds``."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, "not in time"
        await asyncio.sleep(0.001)
    return time.monotonic() - began


@pytest.fixture
async def pushed(fresh_settings: Settings, redis_client: Redis) -> AsyncIterator[PushedState]:
    state = PushedState(fresh_settings)
    state.start()
    await _within(2.0, lambda: state.trusted)
    yield state
    await state.stop()


async def test_the_flag_follows_the_stock_hash(
    fresh_settings: Settings, redis_client: Redis, pushed: PushedState
) -> None:
    assert pushed.sold_out(7) is False
    await write_stock(redis_client, fresh_settings, [_stock(7, 10, 0)])
    await _within(PUSH_BOUND, lambda: pushed.sold_out(7) is True)
    await write_stock(redis_client, fresh_settings, [_stock(7, 9, 4)])  # older: ignored
    await asyncio.sleep(0.05)
    assert pushed.sold_out(7) is True
    await write_stock(redis_client, fresh_settings, [_stock(7, 11, 1)])
    await _within(PUSH_BOUND, lambda: pushed.sold_out(7) is False)
    assert pushed.sold_out(8) is False


async def test_a_new_subscriber_reads_what_is_sold_out_already(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    await write_stock(redis_client, fresh_settings, [_stock(1, 5, 0), _stock(2, 6, 3)])
    state = PushedState(fresh_settings)
    state.start()
    try:
        await _within(2.0, lambda: state.trusted)
        assert (state.sold_out(1), state.sold_out(2)) == (True, False)
    finally:
        await state.stop()


async def test_a_lost_connection_is_not_trusted_and_resyncs_from_redis(
    fresh_settings: Settings, redis_client: Redis, pushed: PushedState
) -> None:
    await write_stock(redis_client, fresh_settings, [_stock(3, 1, 0)])
    await _within(PUSH_BOUND, lambda: pushed.sold_out(3) is True)
    resyncs = pushed.resyncs
    clients = await redis_client.client_list()
    name = f"{fresh_settings.app_id}:pushed-state"
    ours = [c for c in clients if c["name"] == name and int(c["sub"]) > 0]
    assert len(ours) == 1, ours  # the subscription's connection
    await redis_client.client_kill_filter(_id=ours[0]["id"])
    # Never trusted meanwhile: the caller reads Redis instead, never refuses from memory.
    await _within(1.0, lambda: pushed.sold_out(3) is None)
    await write_stock(redis_client, fresh_settings, [_stock(3, 2, 5)])  # units back, unheard
    await _within(3.0, lambda: pushed.resyncs > resyncs and pushed.trusted)
    assert pushed.sold_out(3) is False


async def test_revocations_are_pushed_and_read_on_subscribing(
    fresh_settings: Settings, redis_client: Redis, pushed: PushedState
) -> None:
    keys = (
        token_version_key(fresh_settings, 41),
        revocations_key(fresh_settings),
        revocations_channel(fresh_settings),
    )
    assert pushed.revoked(41, 0) is False
    await record_revocation(redis_client, keys, 41, 1, 900, time.time())
    await _within(PUSH_BOUND, lambda: pushed.revoked(41, 0) is True)
    assert pushed.revoked(41, 1) is False  # a token issued after the logout-all
    late = PushedState(fresh_settings)
    late.start()
    try:
        await _within(2.0, lambda: late.trusted)
        assert late.revoked(41, 0) is True
    finally:
        await late.stop()


async def test_stop_ends_a_listener_that_lost_a_cancellation(
    fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """redis-py can take a cancellation that lands as its read timeout fires for that
    timeout (``get_message`` answers None), and the listener, still cancelling, listens
    on (seen: about 1 ``stop`` in 50 never returned). ``stop`` cancels until it ends."""
    lost = 0

    async def loses_its_first_cancellation(self: PushedState) -> None:
        nonlocal lost
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if lost:
                    raise
                lost += 1

    monkeypatch.setattr(PushedState, "_run_forever", loses_its_first_cancellation)
    state = PushedState(fresh_settings)
    state.start()
    await asyncio.sleep(0)
    stopping = asyncio.create_task(state.stop())
    done, _ = await asyncio.wait({stopping}, timeout=5.0)  # never cancels the stop
    try:
        assert stopping in done, "stop did not return"
        assert lost == 1
    finally:
        stopping.cancel()
        state_task = state._task
        assert state_task is not None
        state_task.cancel()  # a second cancellation, which the listener takes
