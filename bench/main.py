"""The bench's command line: ``python -m bench [SCENARIO ...] [--smoke] [...]``.

With no scenario it runs them all. The ceiling is measured first unless
``--no-ceiling``, so every scenario is reported as a share of it. Results go to
``bench/results/<timestamp>/`` (``report.json``, ``report.md``, PNG charts) and
the table is printed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

from bench.context import Context
from bench.report import write_report
from bench.scenarios import ALL, SCENARIOS, SMOKE
from bench.tools import ensure_tools
from streams.settings import Settings

RESULTS = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []], metavar="SCENARIO")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--requests", type=int, help="override every scenario's request count")
    parser.add_argument("--workers", type=int, default=None, help="Faust worker processes")
    parser.add_argument("--partitions", type=int, default=None, help="partitions per topic")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the ceiling run")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy flame graphs of the API and workers"
    )
    parser.add_argument("--keep", action="store_true", help="keep each run's data and topics")
    parser.add_argument("--out", type=Path, help="output folder (default bench/results/<time>)")
    return parser.parse_args(argv)


def scenario_list(args: argparse.Namespace) -> list[str]:
    names = list(args.scenarios) or (SMOKE if args.smoke else ALL)
    if not args.no_ceiling and "ceiling" not in names:
        names.insert(0, "ceiling")
    # The ceiling runs first wherever it was named, so that ratios exist.
    return sorted(names, key=lambda n: n != "ceiling")


async def run_bench(ctx: Context, names: list[str]) -> Path:
    for name in names:
        began = time.monotonic()
        print(f"== {name}", file=sys.stderr, flush=True)
        try:
            results = await SCENARIOS[name](ctx)
        except Exception as exc:  # one broken scenario must not hide the others' figures
            failure = f"{type(exc).__name__}: {exc}"
            results = [{"scenario": name, "label": name, "failed": failure}]
        for result in results:
            result["elapsed_s"] = round(time.monotonic() - began, 1)
        ctx.results.extend(results)
    return write_report(ctx)


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so each stack is cleaned up.
    raise KeyboardInterrupt


def run(argv: list[str] | None = None) -> tuple[Path, list[dict[str, Any]]]:
    """Run the bench; the report folder and every scenario's result."""
    args = parse_args(argv)
    ensure_tools()
    base = Settings.from_env()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    ctx = Context(
        base=base,
        out_dir=args.out or RESULTS / stamp,
        smoke=args.smoke,
        keep=args.keep,
        requests=args.requests,
        workers=args.workers or base.workers,
        partitions=args.partitions or base.partitions,
        profile=args.profile,
    )
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run_bench(ctx, scenario_list(args)))
    return report, ctx.results


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    report, results = run(argv)
    print((report / "report.md").read_text())
    print(f"report: {report}")
    return 1 if any("failed" in r for r in results) else 0
