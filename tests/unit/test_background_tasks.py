"""Stopping background tasks: cancelled until they end (api/background_tasks.py)."""

from __future__ import annotations

import asyncio

from api.background_tasks import stop_tasks


async def _loses_cancellations(lost: list[int], how_many: int) -> None:
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if len(lost) >= how_many:
                raise
            lost.append(1)


async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again() -> None:
    lost: list[int] = []
    task = asyncio.create_task(_loses_cancellations(lost, how_many=2))
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_tasks(task), timeout=5.0)
    assert task.cancelled()
    assert len(lost) == 2  # cancelled three times in all


async def test_stopping_ends_every_task_and_skips_what_never_started() -> None:
    lost: list[int] = []
    stubborn = asyncio.create_task(_loses_cancellations(lost, how_many=1))
    plain = asyncio.create_task(asyncio.sleep(3600))
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(stop_tasks(stubborn, None, plain, finished), timeout=5.0)
    assert stubborn.cancelled() and plain.cancelled()
    assert finished.done() and not finished.cancelled()


async def test_a_task_that_failed_is_reported_not_raised() -> None:
    async def fails() -> None:
        raise RuntimeError("lost Redis")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await stop_tasks(task)  # no exception out of a stop
    assert isinstance(task.exception(), RuntimeError)
