"""The intake storm shared by the flash, throughput and peer scenarios, and its figures.

wrk sends one order per seeded member. Nothing reads Kafka while it runs, so the
bench's own CPU stays out of the system's way: afterwards the scenario reads the
topics (``Tracker.catch_up``) until every acknowledged order is decided, and
then the figures every scenario reports (requests, rates, latencies, outcomes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from bench.context import Context
from bench.cpu import CpuMeter
from bench.profiler import start_profilers, stop_profilers
from bench.progress import Counts, Progress
from bench.shapes import Shape
from bench.stats import per_second_series, rate, summary_ms
from bench.tracker import Tracker
from bench.wrkrun import WrkRun

ACKNOWLEDGED = ("201", "202", "409")  # "409-no-order" is the fast path: no order created
DECIDED_AT_ONCE = ("201", "409", "409-no-order")  # answers that are the decision itself


class StormTarget(Protocol):
    """What a storm is sent to: our stack or the peer."""

    run_dir: Path

    @property
    def base_url(self) -> str: ...

    def pids(self) -> dict[str, int]: ...


def acknowledged(statuses: dict[str, int]) -> int:
    return sum(n for status, n in statuses.items() if status in ACKNOWLEDGED)


def server_errors(statuses: dict[str, int]) -> int:
    return sum(n for status, n in statuses.items() if status[:1] == "5")


async def run_storm(
    ctx: Context,
    target: StormTarget,
    label: str,
    shape: Shape,
    orders: Counts | None = None,
    on_finished: Callable[[], None] | None = None,
) -> tuple[dict[str, Any], CpuMeter]:
    """wrk against ``target``; the wrk summary (plus "began") and the CPU meter.

    The meter covers the load only: from wrk's start to its last answer, when
    ``on_finished`` is called."""
    targets = target.run_dir / "targets.txt"
    url = f"{target.base_url}/orders"
    wrk = WrkRun(url, targets, target.run_dir, shape.wait, shape.connections)
    meter = ctx.meter(target).start()
    progress = Progress(label, wrk.counts, orders)
    began = time.time()
    await wrk.start(max_seconds=3600)
    assert wrk.proc is not None
    meter.add("wrk", wrk.proc.pid)
    progress.start()
    profilers = (
        start_profilers(target.pids(), ctx.out_dir / f"{label}-profile") if ctx.profile else []
    )
    try:
        summary = await wrk.finish(meter, on_finished=on_finished)
    finally:
        stop_profilers(profilers)
        meter.stop()
        await progress.stop()
    summary["began"] = began
    return summary, meter


async def await_decisions(tracker: Tracker, summary: dict[str, Any], within: float = 120.0) -> None:
    """After the storm: read the topics until every acknowledged order is decided."""
    acked = acknowledged(summary["statuses"])
    await tracker.catch_up(lambda: tracker.decided >= acked, within=within)


def storm_figures_without_orders(summary: dict[str, Any]) -> dict[str, Any]:
    """Requests, request rate, first-answer latency and statuses, from wrk's summary."""
    statuses = summary["statuses"]
    requests = sum(statuses.values())
    seconds = max(summary["last_answer"] - summary["first_sent"], 1e-6)
    percentiles = summary["percentiles_us"]
    return {
        "generator": "wrk",
        "requests": requests,
        "duration_s": round(seconds, 3),
        "req_per_s": rate(requests, seconds),
        "generator_cpu_share": round(summary.get("generator_cpu_s", 0.0) / seconds, 3),
        "first_answer_ms": {
            "count": requests,
            "avg": round(summary["latency_us"]["mean"] / 1000, 2),
            "p50": percentiles["50"] / 1000,
            "p95": percentiles["95"] / 1000,
            "p99": percentiles["99"] / 1000,
            "max": summary["latency_us"]["max"] / 1000,
        },
        "statuses": statuses,
        "errors": {
            # wrk's "status" errors are every answer >= 400; the statuses above tell them.
            **{k: v for k, v in summary["errors"].items() if v and k != "status"},
            "5xx": server_errors(statuses),
            "unanswered": 0 if summary["complete"] else "wrk stalled",
        },
        "series": {"step_s": 0.5, "answers_per_s": _answer_series(summary)},
    }


def storm_figures(summary: dict[str, Any], tracker: Tracker) -> dict[str, Any]:
    """The storm's figures plus what the pipeline decided, and how fast.

    Decided orders/s counts from the first request to the last decision (or the
    last answer, if later), as for the peer, whose every answer is its decision."""
    figures = storm_figures_without_orders(summary)
    decision_times = [d.at for d in tracker.decisions.values()]
    start = summary["first_sent"]
    span = max([*decision_times, summary["last_answer"]]) - start
    figures["series"]["decisions_per_s"] = per_second_series(decision_times, start)
    return {
        **figures,
        "acknowledged": acknowledged(summary["statuses"]),
        "decided": tracker.decided,
        "decided_per_s": rate(tracker.decided, span),
        "time_to_decision_ms": summary_ms(tracker.decision_latencies()),
        "outcomes": dict(tracker.outcomes()),
    }


def answered_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The storm's figures where each answer is the decision (the peer): no topic to read."""
    figures = storm_figures_without_orders(summary)
    decided = sum(n for status, n in summary["statuses"].items() if status in DECIDED_AT_ONCE)
    figures["series"]["decisions_per_s"] = figures["series"]["answers_per_s"]
    return {
        **figures,
        "acknowledged": sum(summary["statuses"].get(s, 0) for s in ("201", "202")),
        "decided": decided,
        "decided_per_s": rate(decided, summary["last_answer"] - summary["first_sent"]),
    }


def _answer_series(summary: dict[str, Any], step: float = 0.5) -> list[float]:
    """wrk's answers per 100 ms, rebinned to ``step`` seconds from the first request."""
    start = summary["first_sent"]
    times: list[float] = []
    for tick, count in summary["answers_per_tick"].items():
        times += [int(tick) / 10 + 0.05] * int(count)
    return per_second_series(times, start, step)
