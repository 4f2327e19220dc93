"""The progress line on stderr while a scenario runs, and the time series behind its chart.

Every half second it samples requests sent and answered (from the load
generator) and, where a scenario follows them while it runs, orders accepted and
decided, and prints one line. A storm shows requests only: the bench reads the
topics after the load, not during it (see ``bench/tracker.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Counts = Callable[[], tuple[int, int]]
INTERVAL = 0.5


@dataclass
class Progress:
    """``requests()`` gives (sent, answered); ``orders()``, if any, (accepted, decided)."""

    label: str
    requests: Counts
    orders: Counts | None = None
    samples: list[tuple[float, int, int, int, int]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def start(self) -> Progress:
        self._task = asyncio.create_task(self._run(), name="bench-progress")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample()
        sys.stderr.write("\n")

    def _sample(self) -> None:
        sent, answered = self.requests()
        accepted, decided = self.orders() if self.orders else (0, 0)
        now = time.time()
        rate = 0.0
        if self.samples:
            before = self.samples[-1]
            rate = (answered - before[2]) / max(now - before[0], 1e-6)
        self.samples.append((now, sent, answered, accepted, decided))
        orders = f"accepted {accepted:,}  decided {decided:,}  " if self.orders else ""
        line = (
            f"\r[{self.label}] sent {sent:,}  answered {answered:,}  {orders}{rate:,.0f} req/s   "
        )
        sys.stderr.write(line if sys.stderr.isatty() else line.strip() + "\n")
        sys.stderr.flush()

    async def _run(self) -> None:
        while True:
            self._sample()
            await asyncio.sleep(INTERVAL if sys.stderr.isatty() else 4 * INTERVAL)
