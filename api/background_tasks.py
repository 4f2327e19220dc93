"""Stopping the API's background tasks: cancelled until they end.

A cancellation can be lost: redis-py takes one that lands as its read timeout fires
for that timeout (``get_message`` answers None), and a task that swallowed it goes
on as if never cancelled (seen: about 1 stop of the pushed-state listener in 50
never returned). Cancelling once and waiting would then wait for ever, so a stop
cancels again every ``RETRY_SECONDS`` until the task is done.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

RETRY_SECONDS = 0.5


async def stop_tasks(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel each task until it has ended; returns once all have."""
    started = [task for task in tasks if task is not None]
    pending = {task for task in started if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RETRY_SECONDS)
    for task in started:
        if not task.cancelled() and task.exception() is not None:
            log.warning("background task %s had failed: %r", task.get_name(), task.exception())
