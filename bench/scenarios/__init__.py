"""The bench's scenarios, by name; each returns its results as a list of dicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bench.context import Context
from bench.scenarios import ceiling, checkout, flash, peer, recovery, scale, throughput

Scenario = Callable[[Context], Awaitable[list[dict[str, Any]]]]


def _one(run: Callable[[Context], Awaitable[dict[str, Any]]]) -> Scenario:
    async def as_list(ctx: Context) -> list[dict[str, Any]]:
        return [await run(ctx)]

    return as_list


SCENARIOS: dict[str, Scenario] = {
    "ceiling": _one(ceiling.run),
    "flash": _one(flash.run),
    "checkout": _one(checkout.run),
    "throughput": _one(throughput.run),
    "scale": scale.run_all,
    "recovery": _one(recovery.run),
    "peer": _one(peer.run_throughput),
    "peer-flash": _one(peer.run_flash),
}
# "make bench" runs these, the ceiling first so that the others have a ratio; each
# peer run beside ours of the same shape. "scale" includes the plain throughput run
# (1 worker, 8 partitions).
ALL = ["ceiling", "flash", "peer-flash", "checkout", "scale", "peer", "recovery"]
SMOKE = ["ceiling", "throughput", "peer", "flash", "peer-flash", "recovery"]
