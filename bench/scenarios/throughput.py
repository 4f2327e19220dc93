"""Seed case 4: orders over 8 products, all purchasable, each answer the decision.

Every order comes from its own member with ``Prefer: wait=2``, so the first
answer's latency is the time to the decision as the buyer sees it. The topics
are read after the load (see ``bench/tracker.py``); MySQL is watched from the
moment the load ends.
"""

from __future__ import annotations

from typing import Any

from bench import checks
from bench.context import Context, running_stack
from bench.sale import list_products, seed_members, write_targets
from bench.storm import await_decisions, run_storm, storm_figures
from bench.tracker import Tracker
from bench.verdicts import audit_clean, check


async def run(ctx: Context) -> dict[str, Any]:
    shape = ctx.shape("throughput")
    label = f"throughput-w{ctx.workers}-p{ctx.partitions}"
    async with running_stack(ctx, label, shape) as stack:
        members = await seed_members(stack.settings, shape.requests)
        products = await list_products(
            stack.base_url, stack.settings, shape.products, shape.units_per_product()
        )
        write_targets(stack.run_dir / "targets.txt", members, products)
        rows = await checks.RowWatcher(stack.settings).open()
        try:
            summary, meter = await run_storm(ctx, stack, label, shape, on_finished=rows.start)
            tracker = Tracker(stack.settings)
            await await_decisions(tracker, summary)
            result = storm_figures(summary, tracker)
            result["persistence_lag"] = await rows.lag(tracker.outcomes(), tracker.last_event_at)
        finally:
            await rows.stop()
        result["audit"] = await checks.audit(stack.settings)
    reserved = result["outcomes"].get("RESERVED", 0)
    result["checks"] = [
        check("no 5xx", result["errors"]["5xx"] == 0, result["errors"]),
        check("decided == acknowledged", result["decided"] == result["acknowledged"]),
        check("every order reserved", reserved == shape.requests, f"{reserved:,} reserved"),
        audit_clean(result),
    ]
    return {**ctx.describe("throughput", label, shape), **result, "cpu": meter.shares}
