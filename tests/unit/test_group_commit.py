"""Group commit: a lone item is written at once; what arrives meanwhile goes together
next; each submitter gets the outcome of exactly the write that held its item."""

from __future__ import annotations

import asyncio

import pytest

from api.group_commit import GroupCommit


class Writes:
    def __init__(self) -> None:
        self.made: list[tuple[str, list[int]]] = []
        self.gate = asyncio.Event()
        self.fail: set[int] = set()  # a write holding any of these items fails

    async def write(self, key: str, items: list[int]) -> None:
        self.made.append((key, items))
        await self.gate.wait()
        if self.fail & set(items):
            raise RuntimeError(f"write of {items} refused")


async def test_a_lone_item_goes_alone_and_the_next_ones_together() -> None:
    writes = Writes()
    commit: GroupCommit[str, int] = GroupCommit(writes.write, max_items=10)
    first = asyncio.create_task(commit.submit("p", 1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(commit.submit("p", n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    assert writes.made == [("p", [1])]  # 2-4 wait for the write in flight
    writes.gate.set()
    await asyncio.gather(first, *later)
    assert writes.made == [("p", [1]), ("p", [2, 3, 4])]
    assert commit.writes == 2


async def test_keys_are_written_independently() -> None:
    writes = Writes()
    writes.gate.set()
    commit: GroupCommit[str, int] = GroupCommit(writes.write, max_items=10)
    await asyncio.gather(commit.submit("a", 1), commit.submit("b", 2))
    assert sorted(writes.made) == [("a", [1]), ("b", [2])]


async def test_a_failed_write_fails_exactly_its_own_items() -> None:
    writes = Writes()
    writes.fail = {3}
    commit: GroupCommit[str, int] = GroupCommit(writes.write, max_items=10)
    tasks = {1: asyncio.create_task(commit.submit("p", 1))}
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    tasks |= {n: asyncio.create_task(commit.submit("p", n)) for n in (2, 3)}
    await asyncio.sleep(0)
    writes.gate.set()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    assert writes.made == [("p", [1]), ("p", [2, 3])]
    assert tasks[1].exception() is None
    for n in (2, 3):  # one record: one outcome for both
        assert isinstance(tasks[n].exception(), RuntimeError)
    await commit.submit("p", 4)  # the next write is a new attempt
    assert writes.made[-1] == ("p", [4])


async def test_no_write_holds_more_than_max_items_and_order_is_kept() -> None:
    writes = Writes()
    commit: GroupCommit[str, int] = GroupCommit(writes.write, max_items=3)
    first = asyncio.create_task(commit.submit("p", 0))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = [asyncio.create_task(commit.submit("p", n)) for n in range(1, 8)]
    await asyncio.sleep(0)
    writes.gate.set()
    await asyncio.gather(first, *later)
    assert [items for _, items in writes.made] == [[0], [1, 2, 3], [4, 5, 6], [7]]


async def test_a_cancelled_submitter_does_not_cancel_the_write() -> None:
    writes = Writes()
    commit: GroupCommit[str, int] = GroupCommit(writes.write, max_items=10)
    task = asyncio.create_task(commit.submit("p", 1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writes.gate.set()
    await commit.close()
    assert writes.made == [("p", [1])]
