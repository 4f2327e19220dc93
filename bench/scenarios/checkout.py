"""Seed case 5: checkout. Orders with stock for all; 20% of buyers never pay, 20% declined.

Driven by the Python client, since each buyer decides what to do next: order
with ``Prefer: wait=2``; if reserved, a payer pays with ``Prefer: wait=5``
(200 PAID or 402 PAYMENT_FAILED) and an abandoner walks away, so the short hold
expires. The run ends when every reservation has its final status.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import checks
from bench.buyer import RETRY, pay
from bench.client import HttpClient
from bench.context import Context, running_stack
from bench.cpu import CpuMeter
from bench.progress import Progress
from bench.sale import Member, list_products, seed_members
from bench.stack import BenchStack
from bench.stats import per_second_series, rate, summary_ms
from bench.storm import server_errors
from bench.tracker import Tracker
from bench.verdicts import audit_clean, check
from streams.statuses import RESERVED


async def buyer(
    client: HttpClient, member: Member, product_id: int, pays: bool, wait: float | None
) -> None:
    body = {"product_id": product_id, "qty": 1}
    order = await client.post("order", "/orders", member.token, body, wait=wait)
    if order.status == 201 and pays:
        await pay(client, order.body["order_id"], member.token)


async def shop(
    ctx: Context, client: HttpClient, members: list[Member], products: list[int]
) -> None:
    shape = ctx.shape("checkout")
    gate = asyncio.Semaphore(shape.connections)
    # Every fifth buyer walks away: 20% never pay (spread evenly, not by chance).
    every = round(1 / shape.never_pay_share) if shape.never_pay_share else 0

    async def one(i: int, member: Member) -> None:
        async with gate:
            pays = not every or i % every != every - 1
            await buyer(client, member, products[i % len(products)], pays, shape.wait)

    await asyncio.gather(*(one(i, m) for i, m in enumerate(members)))


def figures(client: HttpClient, tracker: Tracker, began: float, ended: float) -> dict[str, Any]:
    statuses = client.statuses("order")
    decision_times = [d.at for d in tracker.decisions.values()]
    # Requests a buyer had to repeat (pay while the API still saw PENDING) are counted apart.
    requests = len(client.of("order")) + len(client.of("pay"))
    return {
        "generator": "python",
        "requests": requests,
        "duration_s": round(ended - began, 3),
        "req_per_s": rate(requests, ended - began),
        "acknowledged": client.acknowledged("order"),
        "decided": tracker.decided,
        "decided_per_s": rate(tracker.decided, max(decision_times, default=began) - began),
        "first_answer_ms": client.latency("order"),
        "time_to_decision_ms": summary_ms(tracker.decision_latencies()),
        "statuses": statuses,
        "outcomes": dict(tracker.outcomes()),
        "errors": {
            "5xx": server_errors(statuses) + server_errors(client.statuses("pay")),
            "no answer": sum(1 for c in client.calls if c.status == 0),
        },
        "extra": {
            "pay answers": client.statuses("pay"),
            "pay latency ms": client.latency("pay"),
            "pay retries (API still saw PENDING)": len(client.of(RETRY)),
        },
        "series": {
            "step_s": 0.5,
            "answers_per_s": per_second_series(
                [c.started + c.seconds for c in client.calls], began
            ),
            "decisions_per_s": per_second_series(decision_times, began),
        },
    }


async def drive(
    ctx: Context, stack: BenchStack, tracker: Tracker, members: list[Member], products: list[int]
) -> tuple[dict[str, Any], CpuMeter]:
    """Every buyer's checkout, then the wait until every reservation has its end."""
    shape = ctx.shape("checkout")
    async with HttpClient(stack.base_url, shape.connections) as client:
        meter = ctx.meter(stack).start()
        progress = Progress("checkout", client.counts).start()
        began = time.time()
        await shop(ctx, client, members, products)
        ended = time.time()
        generator_cpu = meter.sample()["bench"] / max(ended - began, 1e-6)
        meter.stop()
        # Abandoned holds expire after hold_seconds (plus the expiry agent's delay).
        await tracker.wait_for(
            lambda: RESERVED not in tracker.outcomes(), within=shape.hold_seconds + 60
        )
        await progress.stop()
    await tracker.catch_up()  # the commands, for time-to-decision
    result = figures(client, tracker, began, ended)
    result["generator_cpu_share"] = round(generator_cpu, 3)
    return result, meter


async def run(ctx: Context) -> dict[str, Any]:
    shape = ctx.shape("checkout")
    async with running_stack(ctx, "checkout", shape) as stack:
        members = await seed_members(stack.settings, shape.requests)
        products = await list_products(
            stack.base_url, stack.settings, shape.products, shape.units_per_product()
        )
        tracker = Tracker(stack.settings)
        tracker.start()
        await tracker.wait_ready()
        try:
            result, meter = await drive(ctx, stack, tracker, members, products)
            result["persistence_lag"] = await checks.persistence_lag(
                stack.settings, tracker.outcomes(), tracker.last_event_at
            )
        finally:
            await tracker.stop()
        result["audit"] = await checks.audit(stack.settings)
    result["checks"] = [
        check("no 5xx", result["errors"]["5xx"] == 0, result["errors"]),
        check("decided == acknowledged", result["decided"] == result["acknowledged"]),
        check("no reservation left", RESERVED not in result["outcomes"], result["outcomes"]),
        audit_clean(result),
    ]
    return {**ctx.describe("checkout", "checkout", shape), **result, "cpu": meter.shares}
