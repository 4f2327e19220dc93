"""Hashing slots: a bounded number of password hashes at once, a bounded queue, 429 beyond."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from api.errors import ApiError
from api.hashing_slots import HashingSlots


async def test_beyond_the_slots_and_the_queue_is_429_at_once() -> None:
    slots = HashingSlots(slots=1, queue=2)
    release = threading.Event()
    running = [asyncio.create_task(slots.run(release.wait, 10)) for _ in range(3)]
    await asyncio.sleep(0.05)  # one hashes, two wait
    with pytest.raises(ApiError) as refused:
        await slots.run(release.wait, 10)
    assert refused.value.status == 429 and refused.value.headers == {"Retry-After": "1"}
    release.set()
    assert await asyncio.gather(*running) == [True, True, True]
    assert await slots.run(release.wait, 10) is True  # the queue drained: taken again


async def test_one_slot_hashes_one_at_a_time() -> None:
    slots = HashingSlots(slots=1, queue=10)
    inside, most = 0, 0

    def hash_call() -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        threading.Event().wait(0.01)
        inside -= 1

    await asyncio.gather(*(slots.run(hash_call) for _ in range(5)))
    assert most == 1


async def test_processes_sharing_a_lock_file_hash_one_at_a_time(tmp_path: Path) -> None:
    # Two API processes' slots (each opens the file itself, as another process would).
    lock = tmp_path / "run" / "api-hashing.lock"
    first, second = HashingSlots(shared=lock), HashingSlots(shared=lock)
    inside, most = 0, 0
    guard = threading.Lock()

    def hash_call() -> None:
        nonlocal inside, most
        with guard:
            inside += 1
            most = max(most, inside)
        threading.Event().wait(0.02)
        with guard:
            inside -= 1

    await asyncio.gather(*(slots.run(hash_call) for slots in (first, second) * 3))
    assert most == 1
    assert lock.exists()
