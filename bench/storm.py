"""The intake storm shared by the flash and throughput scenarios, and its figures.

wrk sends one order per seeded member while the tracker follows the topics;
afterwards the run waits until every acknowledged order is decided, then reads
the figures every scenario reports (requests, rates, latencies, outcomes).
"""

from __future__ import annotations

import time
from typing import Any

from bench.context import Context
from bench.cpu import CpuMeter
from bench.profiler import start_profilers, stop_profilers
from bench.progress import Progress
from bench.shapes import Shape
from bench.stack import BenchStack
from bench.stats import per_second_series, rate, summary_ms
from bench.tracker import Tracker
from bench.wrkrun import WrkRun

ACKNOWLEDGED = ("201", "202", "409")  # "409-no-order" is the fast path: no order created


def acknowledged(statuses: dict[str, int]) -> int:
    return sum(n for status, n in statuses.items() if status in ACKNOWLEDGED)


def server_errors(statuses: dict[str, int]) -> int:
    return sum(n for status, n in statuses.items() if status[:1] == "5")


async def run_storm(
    ctx: Context, stack: BenchStack, label: str, shape: Shape, tracker: Tracker
) -> tuple[dict[str, Any], CpuMeter]:
    """wrk against the stack's API; the wrk summary (plus "began") and the CPU meter."""
    targets = stack.run_dir / "targets.txt"
    wrk = WrkRun(f"{stack.base_url}/orders", targets, stack.run_dir, shape.wait, shape.connections)
    meter = ctx.meter(stack).start()
    progress = Progress(label, wrk.counts, lambda: (len(tracker.commanded_at), tracker.decided))
    began = time.time()
    await wrk.start(max_seconds=3600)
    assert wrk.proc is not None
    meter.add("wrk", wrk.proc.pid)
    progress.start()
    profilers = (
        start_profilers(stack.pids(), ctx.out_dir / f"{label}-profile") if ctx.profile else []
    )
    try:
        summary = await wrk.finish(meter)
    finally:
        stop_profilers(profilers)
    acked = acknowledged(summary["statuses"])
    await tracker.wait_for(lambda: tracker.decided >= acked, within=120)
    await progress.stop()
    meter.stop()
    summary["began"] = began
    return summary, meter


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
    """The storm's figures plus what the pipeline decided, and how fast."""
    figures = storm_figures_without_orders(summary)
    decision_times = [d.at for d in tracker.decisions.values()]
    first_command = min(tracker.commanded_at.values(), default=summary["first_sent"])
    decide_span = max(decision_times, default=first_command) - first_command
    figures["series"]["decisions_per_s"] = per_second_series(decision_times, summary["first_sent"])
    return {
        **figures,
        "acknowledged": acknowledged(summary["statuses"]),
        "decided": tracker.decided,
        "decided_per_s": rate(tracker.decided, decide_span),
        "time_to_decision_ms": summary_ms(tracker.decision_latencies()),
        "outcomes": dict(tracker.outcomes()),
    }


def _answer_series(summary: dict[str, Any], step: float = 0.5) -> list[float]:
    """wrk's answers per 100 ms, rebinned to ``step`` seconds from the first request."""
    start = summary["first_sent"]
    times: list[float] = []
    for tick, count in summary["answers_per_tick"].items():
        times += [int(tick) / 10 + 0.05] * int(count)
    return per_second_series(times, start, step)
