"""The bench report: ``report.json`` (everything), ``report.md`` (tables) and the charts.

The summary table puts each scenario beside the seed's figure for the same case
and gives its request rate as a share of the ceiling measured in the same run,
with the generator that drove it; then our storms beside the peer's of the same
run (issue 12), as ratios to the peer and to the ceiling.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.charts import write_charts
from bench.context import Context
from bench.seed_figures import seed_for
from bench.targets import headline, targets_for
from bench.verdicts import all_ok
from bench.versus import ceiling_for, peers, versus

LATENCY_KEYS = ("avg", "p50", "p95", "p99", "max")


def ceiling_ratio(result: dict[str, Any], ceiling: dict[str, Any] | None) -> float | None:
    if result.get("scenario") == "ceiling" or not result.get("req_per_s"):
        return None
    top = ceiling_for(result, ceiling)
    return round(result["req_per_s"] / top, 3) if top else None


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _latency(summary: dict[str, Any] | None) -> str:
    if not summary or not summary.get("count"):
        return "-"
    return " / ".join(_fmt(summary.get(k)) for k in LATENCY_KEYS)


def summary_table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| scenario | generator (its CPU, 1.0 = a core) | requests | req/s | decided/s "
        "| first answer ms avg/p50/p95/p99/max | time-to-decision ms avg/p50/p95/p99/max "
        "| ratio to ceiling | seed (case: TPS, avg ms) | checks | targets met | headline |",
        "|---|---|---:|---:|---:|---|---|---:|---|---|---|---|",
    ]
    for r in results:
        if "failed" in r:
            lines.append(f"| {r['label']} |" + " - |" * 8 + f" FAILED: {r['failed']} |")
            continue
        seed = seed_for(r["scenario"])
        seed_text = "-"
        if seed:
            seed_text = f"case {seed['case']}: {seed['tps']:,.0f}, {seed['avg_latency_ms']}"
        ratio = r.get("ceiling_ratio")
        lines.append(
            f"| {r['label']} | {_generator(r)} | {_fmt(r.get('requests'))} "
            f"| {_fmt(r.get('req_per_s'))} | {_fmt(r.get('decided_per_s'))} "
            f"| {_latency(r.get('first_answer_ms'))} | {_latency(r.get('time_to_decision_ms'))} "
            f"| {'-' if ratio is None else f'{ratio:.0%}'} | {seed_text} "
            f"| {'ok' if all_ok(r) else 'FAILED'} | {_targets_met(r)} | {r.get('headline', '')} |"
        )
    return lines


def versus_table(results: list[dict[str, Any]]) -> list[str]:
    """Our storms beside the peer's and the ceiling, with the ratios (issue 12)."""
    lines = [
        "## Against the peer and the ceiling (issue 12)",
        "",
        "| scenario | peer | figure | ours | peer | ceiling | ours / peer | ours / ceiling |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    compared = [r for r in results if r.get("versus")]
    for r in compared:
        v = r["versus"]
        for row in v["rows"]:
            lines.append(
                f"| {r['label']} | {v['peer'] or 'not run'} | {row['figure']} "
                f"| {_fmt(row['ours'])} | {_fmt(row['peer'])} | {_fmt(row['ceiling'])} "
                f"| {_ratio(row['vs_peer'])} | {_ratio(row['vs_ceiling'])} |"
            )
    if not compared:
        return []
    return [*lines, "", *_verdict_lines(compared), ""]


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _verdict_lines(compared: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in compared:
        said = [f"{t['name']}: **{_met(t['met'])}** ({t['ours']})" for t in r.get("targets", [])]
        lines.append(f"- {r['label']}: " + "; ".join(said))
    return lines


def _generator(r: dict[str, Any]) -> str:
    share = r.get("generator_cpu_share")
    return r.get("generator", "-") + ("" if share is None else f" ({share:.2f})")


def _targets_met(r: dict[str, Any]) -> str:
    targets = r.get("targets") or []
    if not targets:
        return "-"
    met = sum(1 for t in targets if t["met"])
    return f"{met} of {len(targets)}"


def detail_section(r: dict[str, Any]) -> list[str]:
    lines = [f"## {r['label']}", ""]
    if "failed" in r:
        return [*lines, f"Failed: `{r['failed']}`", ""]
    rows = [
        ("settings", f"workers={r.get('workers')} partitions={r.get('partitions')}"),
        ("HTTP statuses", _fmt(r.get("statuses"))),
        ("acknowledged / decided", f"{_fmt(r.get('acknowledged'))} / {_fmt(r.get('decided'))}"),
        ("outcomes (latest status)", _fmt(r.get("outcomes"))),
        ("errors", _fmt(r.get("errors"))),
        ("audit", (r.get("audit") or {}).get("result", "-")),
        ("MySQL persistence lag", _persistence(r.get("persistence_lag"))),
        ("CPU shares (1.0 = one core)", _fmt(r.get("cpu"))),
    ]
    rows += [(k, _fmt(v)) for k, v in (r.get("extra") or {}).items()]
    rows += [
        (f"target: {t['name']}", f"{_met(t['met'])} (ours: {t['ours']})")
        for t in r.get("targets", [])
    ]
    rows += [
        (f"check: {c['name']}", f"{'ok' if c['ok'] else 'FAILED'} {c['detail']}")
        for c in r.get("checks", [])
    ]
    lines += ["| figure | value |", "|---|---|"]
    lines += [f"| {k} | {str(v).replace('|', '/')} |" for k, v in rows]
    return [*lines, "", f"![{r['label']}]({r['label']}.png)", ""]


def _met(met: bool | None) -> str:
    return {True: "met", False: "missed", None: "not measurable"}[met]


def _persistence(lag: dict[str, Any] | None) -> str:
    if not lag:
        return "-"
    if lag.get("complete") and lag.get("upper_bound"):
        return f"<= {lag['seconds']:.3f} s (all rows there at the first look)"
    if lag.get("complete"):
        return f"{lag['seconds']:.3f} s after the last event"
    return f"incomplete after timeout: rows {lag.get('rows')} expected {lag.get('expected')}"


def _ceiling_text(ceiling: dict[str, Any] | None) -> str:
    if not ceiling:
        return "not measured in this run"
    return ", ".join(f"{name} {value:,.0f}" for name, value in ceiling.items())


def write_report(ctx: Context) -> Path:
    found = peers(ctx.results)
    for result in ctx.results:
        result["ceiling_ratio"] = ceiling_ratio(result, ctx.ceiling)
        result["seed"] = seed_for(result.get("scenario", ""))
        result["versus"] = versus(result, found, ctx.ceiling)
        if "failed" not in result:
            result["targets"] = targets_for(result)
            result["headline"] = headline(result)
    out = ctx.out_dir
    (out / "report.json").write_text(
        json.dumps({"ceiling": ctx.ceiling, "smoke": ctx.smoke, "results": ctx.results}, indent=2)
    )
    charts = write_charts(out, ctx.results)
    head = [
        "# Bench report",
        "",
        f"Ceiling (bare 202 endpoint, req/s by generator): {_ceiling_text(ctx.ceiling)}."
        + (" Smoke sizes: not comparable with the seed." if ctx.smoke else ""),
        "",
    ]
    body = [line for r in ctx.results for line in detail_section(r)]
    graphs = sorted(str(p.relative_to(out)) for p in out.glob("*-profile/*.svg"))
    tail = ["", f"Charts: {', '.join(p.name for p in charts) or 'none'}", ""]
    if graphs:
        tail += [f"Flame graphs (py-spy): {', '.join(graphs)}", ""]
    table = summary_table(ctx.results)
    against = versus_table(ctx.results)
    (out / "report.md").write_text("\n".join([*head, *table, "", *against, *body, *tail]))
    return out
