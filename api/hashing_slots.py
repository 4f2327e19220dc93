"""Password hashing with a bounded share of the CPU: one API process's hashing slots.

A flood of logins or sign-ups from many addresses passes every per-address and
per-account limit (api/auth_limits.py); what it must not do is take every core, so
the sale's requests keep theirs. A process hashes at most ``HASHING_SLOTS``
passwords at once (one core's worth of scrypt) and lets ``HASHING_QUEUE`` more
wait; a request beyond that is answered 429 at once, before any hashing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from api.errors import rate_limited

HASHING_SLOTS = 1
# About one second of hashing at one slot: a request in the queue waits at most that long.
HASHING_QUEUE = 16

T = TypeVar("T")


class HashingSlots:
    """At most ``slots`` password hashes at once in this process, ``queue`` more waiting;
    beyond that, 429 at once (the hash would only start after the client gave up)."""

    def __init__(self, slots: int = HASHING_SLOTS, queue: int = HASHING_QUEUE) -> None:
        self._free = asyncio.Semaphore(slots)
        self._queue = queue
        self._waiting = 0

    async def run(self, hash_call: Callable[..., T], *args: object) -> T:
        if self._waiting >= self._queue:
            raise rate_limited(1, "too many password checks at once; retry in a second")
        self._waiting += 1
        try:
            await self._free.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(hash_call, *args)
        finally:
            self._free.release()
