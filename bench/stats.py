"""Latency summaries: count, average, percentiles and maximum, in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

PERCENTILES = (50, 95, 99)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, Any]:
    """avg/p50/p95/p99/max in ms of durations given in seconds (empty: count 0 only)."""
    if not seconds:
        return {"count": 0}
    values = sorted(seconds)
    result: dict[str, Any] = {
        "count": len(values),
        "avg": round(1000 * sum(values) / len(values), 2),
    }
    for p in PERCENTILES:
        result[f"p{p}"] = round(1000 * percentile(values, p), 2)
    result["max"] = round(1000 * values[-1], 2)
    return result


def rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


def per_second_series(times: Sequence[float], start: float, step: float = 0.5) -> list[float]:
    """Events per second in consecutive ``step``-second bins from ``start``."""
    if not times:
        return []
    bins = [0] * (int((max(times) - start) / step) + 1)
    for t in times:
        if t >= start:
            bins[int((t - start) / step)] += 1
    return [round(n / step, 1) for n in bins]
