"""PNG charts of a bench run: per scenario throughput over time, latency percentiles and
outcomes, plus one summary of every scenario against the ceiling and the seed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.seed_figures import seed_for

PERCENTILE_KEYS = ("p50", "p95", "p99", "max")


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")


def _throughput(ax: Axes, r: dict[str, Any]) -> None:
    series = r.get("series") or {}
    step = series.get("step_s", 0.5)
    for key, label in (("answers_per_s", "answers/s"), ("decisions_per_s", "decisions/s")):
        values = series.get(key) or []
        ax.plot([i * step for i in range(len(values))], values, label=label)
    ax.set_title("throughput over time")
    ax.set_xlabel("seconds from the first request")
    ax.set_ylabel("per second")
    _legend(ax)


def _latency(ax: Axes, r: dict[str, Any]) -> None:
    groups = [
        ("first answer", r.get("first_answer_ms")),
        ("decision", r.get("time_to_decision_ms")),
    ]
    width, top = 0.38, 1.0
    for offset, (label, summary) in enumerate(groups):
        if not summary or not summary.get("count"):
            continue
        values = [summary.get(k) or 0 for k in PERCENTILE_KEYS]
        xs = [i + offset * width for i in range(len(PERCENTILE_KEYS))]
        ax.bar(xs, values, width, label=label)
        top = max(top, *values)
    ax.set_xticks([i + width / 2 for i in range(len(PERCENTILE_KEYS))], PERCENTILE_KEYS)
    ax.set_yscale("symlog", linthresh=10)
    ax.set_ylim(0, top * 2)
    ax.set_title("latency (ms)")
    _legend(ax)


def _outcomes(ax: Axes, r: dict[str, Any]) -> None:
    items = [(f"HTTP {k}", v) for k, v in sorted((r.get("statuses") or {}).items())]
    items += sorted((r.get("outcomes") or {}).items())
    ax.barh([k for k, _ in items], [v for _, v in items])
    for y, (_, v) in enumerate(items):
        ax.text(v, y, f" {v:,}", va="center", fontsize=8)
    ax.set_title("answers and order outcomes")


def scenario_chart(out: Path, r: dict[str, Any]) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    _throughput(axes[0], r)
    _latency(axes[1], r)
    _outcomes(axes[2], r)
    fig.suptitle(f"{r['label']}: {r.get('req_per_s', 0):,.0f} req/s ({r.get('generator')})")
    fig.tight_layout()
    path = out / f"{r['label']}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def summary_chart(out: Path, results: list[dict[str, Any]]) -> Path | None:
    rows = [r for r in results if r.get("req_per_s")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(10, 4.5))
    xs = range(len(rows))
    ax.bar([x - 0.27 for x in xs], [r["req_per_s"] for r in rows], 0.27, label="ours, req/s")
    decided = [r.get("decided_per_s") or 0 for r in rows]
    ax.bar(list(xs), decided, 0.27, label="ours, decided orders/s")
    seed = [(seed_for(r["scenario"]) or {}).get("tps", 0) for r in rows]
    ax.bar([x + 0.27 for x in xs], seed, 0.27, label="seed, TPS")
    ax.set_xticks(list(xs), [r["label"] for r in rows], rotation=15)
    ax.set_title("request rate: ours, the seed's, and the ceiling (first bar)")
    _legend(ax)
    fig.tight_layout()
    path = out / "summary.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_charts(out: Path, results: list[dict[str, Any]]) -> list[Path]:
    paths = [scenario_chart(out, r) for r in results if "failed" not in r]
    summary = summary_chart(out, results)
    return paths + ([summary] if summary else [])
