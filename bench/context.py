"""What every scenario of one bench run shares: options, output folder, the ceiling."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter, Processes, server_pids
from bench.shapes import FULL, SMOKE, Shape
from bench.stack import BenchStack, run_settings
from streams.settings import Settings


@dataclass
class Context:
    base: Settings
    out_dir: Path
    smoke: bool = False
    keep: bool = False
    requests: int | None = None  # overrides every scenario's request count
    workers: int = 1
    partitions: int = 8
    ceiling: dict[str, Any] | None = None
    profile: bool = False  # py-spy flame graphs of the API and workers during each storm
    results: list[dict[str, Any]] = field(default_factory=list)

    def shape(self, scenario: str) -> Shape:
        shape = (SMOKE if self.smoke else FULL)[scenario]
        return shape.scaled(self.requests) if self.requests else shape

    def run_dir(self, label: str) -> Path:
        path = self.out_dir / "runs" / label
        path.mkdir(parents=True, exist_ok=True)
        return path

    def describe(self, scenario: str, label: str, shape: Shape) -> dict[str, Any]:
        """The head of a scenario's result: what ran, with which settings."""
        return {
            "scenario": scenario,
            "label": label,
            "workers": self.workers,
            "partitions": self.partitions,
            "shape": dataclasses.asdict(shape),
        }

    def meter(self, stack: Processes | None = None) -> CpuMeter:
        """CPU shares of the stack's processes, the shared servers and the bench itself."""
        ports = [int(a.rsplit(":", 1)[1]) for a in self.base.broker_addresses()]
        pids = {**server_pids(ports), "bench": os.getpid()}
        if stack is not None:
            pids.update(stack.pids())
        return CpuMeter(pids)


@contextlib.asynccontextmanager
async def running_stack(
    ctx: Context, label: str, shape: Shape, **changes: Any
) -> AsyncIterator[BenchStack]:
    """A fresh stack with the scenario's settings, up for the ``async with`` body."""
    run_dir = ctx.run_dir(label)
    changes = {"workers": ctx.workers, "partitions": ctx.partitions, **changes}
    settings = run_settings(ctx.base, shape, run_dir, **changes)
    stack = BenchStack(settings, run_dir)
    try:
        await stack.create()
        await stack.start()
        yield stack
    finally:
        await stack.close(keep=ctx.keep)
