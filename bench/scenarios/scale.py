"""Scale: the throughput scenario with 1 and 2 workers, and 8 and 32 partitions.

Each variant is a full throughput run with its own stack; the report shows how
decided orders/s and p99 time-to-decision move with workers and partitions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench.context import Context
from bench.scenarios import throughput

VARIANTS = ((1, 8), (2, 8), (1, 32), (2, 32))  # (workers, partitions)


async def run_all(ctx: Context) -> list[dict[str, Any]]:
    results = []
    for workers, partitions in VARIANTS:
        variant = dataclasses.replace(ctx, workers=workers, partitions=partitions)
        results.append(await throughput.run(variant))
    return results
