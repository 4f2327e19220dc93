"""Password hashing with a bounded share of the CPU: one API process's hashing slots.

A flood of logins or sign-ups from many addresses passes every per-address and
per-account limit (api/auth_limits.py); what it must not do is take every core, so
the sale's requests keep theirs. A process hashes at most ``HASHING_SLOTS``
passwords at once (one core's worth of scrypt) and lets ``HASHING_QUEUE`` more
wait; a request beyond that is answered 429 at once, before any hashing.

Several API processes (``FLASHSALE_API_PROCESSES``) would each take a core; so the
hash also holds an exclusive ``flock`` on a file the processes of one stack share
(``<FLASHSALE_DATA_DIR>/api-hashing.lock``), taken in the hashing thread, never on
the event loop: one hash at a time across them, as with one process.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from api.errors import rate_limited

HASHING_SLOTS = 1
# About one second of hashing at one slot: a request in the queue waits at most that long.
HASHING_QUEUE = 16

T = TypeVar("T")


class HashingSlots:
    """At most ``slots`` password hashes at once in this process, ``queue`` more waiting;
    beyond that, 429 at once (the hash would only start after the client gave up)."""

    def __init__(
        self, slots: int = HASHING_SLOTS, queue: int = HASHING_QUEUE, shared: Path | None = None
    ) -> None:
        self._free = asyncio.Semaphore(slots)
        self._queue = queue
        self._waiting = 0
        self._shared = shared
        if shared is not None:
            shared.parent.mkdir(parents=True, exist_ok=True)

    async def run(self, hash_call: Callable[..., T], *args: object) -> T:
        if self._waiting >= self._queue:
            raise rate_limited(1, "too many password checks at once; retry in a second")
        self._waiting += 1
        try:
            await self._free.acquire()
        finally:
            self._waiting -= 1
        try:
            return await asyncio.to_thread(self._hash, hash_call, *args)
        finally:
            self._free.release()

    def _hash(self, hash_call: Callable[..., T], *args: object) -> T:
        """In the hashing thread: the hash, holding the lock shared across processes."""
        if self._shared is None:
            return hash_call(*args)
        # Released when the file is closed; a process that dies mid-hash releases it too.
        with self._shared.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return hash_call(*args)
