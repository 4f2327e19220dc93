"""Recovery: with a long order history behind it, ``kill -9`` the worker and time its return.

The history goes straight to ``stock-commands`` and the run waits until the
worker has decided all of it. Then, twice: kill worker-1 with SIGKILL, start it
again at once, send one probe order per product through the API, and time until
the first probe (and then every probe) is decided. "warm" keeps the worker's
local table store, as after a crash on the same machine; "cold" deletes it, so
the tables are rebuilt from their changelog topics, as on a new machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.client import Call, HttpClient
from bench.context import Context, running_stack
from bench.history import HOLD_SECONDS, OffsetWatcher, write_history
from bench.progress import Progress
from bench.sale import Member, list_products, seed_members
from bench.stack import BenchStack
from bench.stats import rate
from bench.tracker import Tracker
from bench.verdicts import check
from bench.waiting import poll_until
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS

MEMBERS = 100
# A cold restart restores the whole changelog: minutes for a million orders (the probes'
# own wait below is as long).
RESTORE_WITHIN = 600.0
PER_USER_LIMIT = 1_000_000


async def build_history(
    stack: BenchStack, count: int, members: list[Member], products: list[int]
) -> dict[str, Any]:
    """Write ``count`` orders and wait until each is decided; how fast that went."""
    settings = stack.settings
    events = ORDER_EVENTS.name(settings)
    watcher = OffsetWatcher(settings, [STOCK_COMMANDS.name(settings), events]).start()
    sent = [0]
    progress = Progress(
        "recovery/history",
        lambda: (sent[0], sent[0]),
        lambda: (watcher.totals[STOCK_COMMANDS.name(settings)], watcher.totals[events]),
    ).start()
    began = time.time()
    start_events = watcher.totals[events]
    try:
        await write_history(
            settings,
            count,
            [m.member_id for m in members],
            products,
            on_sent=lambda n: sent.__setitem__(0, n),
        )
        written = time.time()
        await poll_until(lambda: watcher.totals[events] - start_events >= count, within=7200)
        decided = time.time()
    finally:
        await progress.stop()
        await watcher.stop()
    return {
        "orders": count,
        "write_s": round(written - began, 1),
        "decided_s": round(decided - began, 1),
        "worker_decisions_per_s": rate(count, decided - began),
    }


async def send_probes(base: str, member: Member, products: list[int]) -> list[Call]:
    """One order per product (no wait): each lands on its product's partition."""
    async with HttpClient(base, connections=len(products)) as client:
        body = [{"product_id": p, "qty": 1} for p in products]
        return list(
            await asyncio.gather(*(client.post("order", "/orders", member.token, b) for b in body))
        )


async def probe(
    stack: BenchStack, member: Member, products: list[int], cold: bool
) -> dict[str, Any]:
    """Kill worker-1, restart it, and time the decisions of probe orders sent meanwhile."""
    tracker = Tracker(stack.settings, from_end=True)
    tracker.start()
    await tracker.wait_ready()
    try:
        await asyncio.sleep(2.0)  # the worker commits its offsets every second
        killed = time.time()
        stack.workers[0].kill()
        if cold:
            stack.wipe_worker_data(1)
        restart = asyncio.create_task(stack.start_worker(1, ready_within=RESTORE_WITHIN))
        answers = await send_probes(stack.base_url, member, products)
        await restart
        web_up = time.time() - killed
        # Only the probes count: a restarted worker may also replay older decisions.
        probes = {a.body["order_id"] for a in answers if a.body.get("order_id")}
        await tracker.wait_for(lambda: probes <= tracker.decisions.keys(), within=600)
        times = sorted(tracker.decisions[p].at - killed for p in probes if p in tracker.decisions)
    finally:
        await tracker.stop()
    return {
        "store": "cold (local store deleted)" if cold else "warm (local store kept)",
        "probe_answers": sorted({a.status for a in answers}),
        "worker_web_up_s": round(web_up, 2),
        "first_decision_s": round(times[0], 2) if times else None,
        "all_probes_decided_s": round(times[-1], 2) if len(times) == len(probes) > 0 else None,
    }


async def run(ctx: Context) -> dict[str, Any]:
    shape = ctx.shape("recovery")
    async with running_stack(ctx, "recovery", shape, hold_seconds=HOLD_SECONDS) as stack:
        members = await seed_members(stack.settings, MEMBERS)
        products = await list_products(
            stack.base_url, stack.settings, shape.products, shape.stock, PER_USER_LIMIT
        )
        meter = ctx.meter(stack).start()
        history = await build_history(stack, shape.requests, members, products)
        meter.stop()
        warm = await probe(stack, members[0], products, cold=False)
        cold = await probe(stack, members[0], products, cold=True)
    recovered = warm["first_decision_s"]
    return {
        **ctx.describe("recovery", "recovery", shape),
        "generator": "kafka producer (history), python (probes)",
        "history": history,
        "warm": warm,
        "cold": cold,
        "cpu": meter.shares,
        "extra": {"history": history, "warm restart": warm, "cold restart": cold},
        "checks": [
            check("decides again after kill -9 (warm)", recovered is not None, f"{recovered} s"),
            check(
                "decides again after kill -9 (cold)",
                cold["first_decision_s"] is not None,
                f"{cold['first_decision_s']} s",
            ),
        ],
    }
