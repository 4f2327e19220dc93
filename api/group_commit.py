"""Group commit without a timer: what arrives while a write is in flight goes in the next one.

``submit(key, item)`` returns once a write holding ``item`` has succeeded, or
raises that write's exception: every submitter learns the outcome of exactly
the write that held its item. Writes of one key run one at a time, in arrival
order; a lone item is written at once, alone. Writes of different keys run
concurrently. A write holds at most ``max_items``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

Waiting = list[tuple[Any, asyncio.Future[None]]]


class GroupCommit(Generic[K, T]):
    def __init__(self, write: Callable[[K, list[T]], Awaitable[None]], max_items: int) -> None:
        self._write = write
        self._max_items = max_items
        self._waiting: dict[K, Waiting] = {}
        self._writers: dict[K, asyncio.Task[None]] = {}
        self.writes = 0  # how many writes were made (for tests and measurements)

    async def submit(self, key: K, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)
        self._waiting.setdefault(key, []).append((item, future))
        if key not in self._writers:
            self._writers[key] = asyncio.create_task(self._drain(key))
        # A cancelled request does not cancel the write its item is part of.
        await asyncio.shield(future)

    async def _drain(self, key: K) -> None:
        try:
            while waiting := self._waiting.pop(key, None):
                for start in range(0, len(waiting), self._max_items):
                    await self._write_one(key, waiting[start : start + self._max_items])
        finally:
            del self._writers[key]

    async def _write_one(self, key: K, chunk: Waiting) -> None:
        self.writes += 1
        try:
            await self._write(key, [item for item, _ in chunk])
        except Exception as exc:  # handed to exactly the submitters of this write
            for _, future in chunk:
                if not future.done():
                    future.set_exception(exc)
        else:
            for _, future in chunk:
                if not future.done():
                    future.set_result(None)

    async def close(self) -> None:
        """Wait for the writes in flight (their submitters are still owed an answer)."""
        await asyncio.gather(*self._writers.values(), return_exceptions=True)


def _retrieved(future: asyncio.Future[None]) -> None:
    """Mark an outcome seen even if its submitter was cancelled meanwhile (no warning)."""
    if not future.cancelled():
        future.exception()
