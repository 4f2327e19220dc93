"""The intake storm: ``wrk`` with ``bench/wrk/orders.lua``, one order per target line.

wrk has no request count, so each Lua thread stops itself once all its orders
are answered and this module ends wrk with SIGINT when every thread is done (or
when answers stop coming for ``stall_seconds``). The Lua ``done`` hook writes the
status counts, answers per 100 ms and latency percentiles as JSON.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter

SCRIPT = Path(__file__).parent / "wrk" / "orders.lua"
THREADS = 2


@dataclass
class WrkRun:
    """A running wrk; ``counts()`` is (sent, answered) from the threads' progress files."""

    url: str
    targets: Path
    work_dir: Path
    wait: float | None
    connections: int
    proc: asyncio.subprocess.Process | None = None
    seen: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def progress_dir(self) -> Path:
        return self.work_dir / "wrk-progress"

    @property
    def summary_path(self) -> Path:
        return self.work_dir / "wrk-summary.json"

    async def start(self, max_seconds: int) -> None:
        self.progress_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.progress_dir.glob("thread-*"):  # an earlier wrk in this folder
            stale.unlink()
        env = {
            "BENCH_TARGETS": str(self.targets),
            "BENCH_THREADS": str(THREADS),
            "BENCH_WAIT": "" if self.wait is None else f"{self.wait:g}",
            "BENCH_PROGRESS": str(self.progress_dir),
            "BENCH_SUMMARY": str(self.summary_path),
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
        argv = ["wrk", f"-t{THREADS}", f"-c{max(self.connections, THREADS)}"]
        argv += [f"-d{max_seconds}s", "--timeout", "30s", "-s", str(SCRIPT), self.url]
        with (self.work_dir / "wrk.log").open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT
            )

    def _threads(self) -> list[tuple[int, int, int]]:
        for path in self.progress_dir.glob("thread-*"):
            parts = path.read_text().split()
            # A file caught mid-write reads short: keep that thread's last reading.
            if len(parts) == 3:
                self.seen[path.name] = (int(parts[0]), int(parts[1]), int(parts[2]))
        return list(self.seen.values())

    def counts(self) -> tuple[int, int]:
        threads = self._threads()
        return sum(t[0] for t in threads), sum(t[1] for t in threads)

    def finished(self) -> bool:
        threads = self._threads()
        return len(threads) == THREADS and all(t[1] >= t[2] for t in threads)

    async def finish(
        self,
        meter: CpuMeter,
        stall_seconds: float = 30.0,
        on_finished: Callable[[], None] | None = None,
    ) -> dict[str, Any]:
        """Wait until every order is answered (or answers stall), then stop wrk.

        ``on_finished`` is called the moment the answers are in, before wrk stops."""
        assert self.proc is not None
        last, last_change = -1, time.monotonic()
        while self.proc.returncode is None and not self.finished():
            answered = self.counts()[1]
            if answered != last:
                last, last_change = answered, time.monotonic()
            elif time.monotonic() - last_change > stall_seconds:
                break
            meter.sample()
            await asyncio.sleep(0.05)
        meter.sample()
        if on_finished is not None:
            on_finished()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGINT)
        await self.proc.wait()
        summary: dict[str, Any] = json.loads(self.summary_path.read_text())
        summary["complete"] = self.finished()
        # Sampled while wrk ran (it is gone now): its own CPU seconds, all threads.
        summary["generator_cpu_s"] = meter.sample().get("wrk", 0.0)
        return summary
