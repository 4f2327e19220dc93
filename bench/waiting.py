"""Waiting for a condition that other tasks make true (counters fed by Kafka consumers)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

POLL_SECONDS = 0.05


async def poll_until(condition: Callable[[], bool], within: float) -> bool:
    """Check ``condition`` every 50 ms until it holds or ``within`` seconds pass.

    Whether it held."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(POLL_SECONDS)
    return True
