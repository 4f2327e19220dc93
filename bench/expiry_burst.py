"""Time-to-decision of new orders while a burst of expiries is decided.

``make bench-expiry`` (or ``python -m bench.expiry_burst [--orders N] [--rate R]``):
writes ``--orders`` reservations straight to ``stock-commands`` (8 products),
all with the same short hold, and waits until every one is decided. Then, while
their holds run out together, it sends ``--rate`` new orders a second through
the API (``Prefer: wait=5``). The expiry proposals and the stock agent's expiry
decisions compete with these probes for the worker. Printed: time-to-decision
(Kafka timestamp of the decision minus that of the command) of the probes before
the burst and during it, and how long the burst took to drain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.client import HttpClient
from bench.history import OffsetWatcher
from bench.sale import list_products, seed_members
from bench.stack import BenchStack
from bench.stats import summary_ms
from bench.tracker import Tracker
from bench.waiting import poll_until
from kit.namespace import fresh_settings
from kit.processes import free_port
from streams.records import ReserveOrder
from streams.settings import Settings
from streams.statuses import EXPIRED
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS, product_message_key

PRODUCTS = 8
MEMBERS = 200
PROBE_WAIT_SECONDS = 5.0
# A burst still not drained after this is reported as such (with what expired).
MAX_BURST_SECONDS = 240.0


def run_settings(run_dir: Path) -> Settings:
    base = Settings.from_env()
    return fresh_settings(
        base,
        run_dir,
        api_port=free_port(),
        jwt_secret=base.jwt_secret or secrets.token_hex(32),
        admin_email=base.admin_email or "admin@example.com",
        admin_password=base.admin_password or "admin-password",
        rate_limit=0,
        workers=1,
    )


async def write_holds(
    settings: Settings, count: int, members: list[int], products: list[int], hold: float
) -> None:
    """``count`` reservations whose holds all end ``hold`` seconds from now."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20
    )
    await producer.start()
    due = time.time() + hold
    try:
        futures = []
        for i in range(count):
            now = time.time()
            order = ReserveOrder(
                product_id=products[i % len(products)],
                order_id=str(uuid.uuid4()),
                member_id=members[i % len(members)],
                qty=1,
                amount=5_000,
                hold_seconds=max(1, round(due - now)),
                at=now,
            )
            key = product_message_key(order.product_id)
            futures.append(await producer.send(STOCK_COMMANDS.name(settings), order.dumps(), key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def probe(
    client: HttpClient, tokens: list[str], products: list[int], rate: float, stop: asyncio.Event
) -> None:
    """Orders at a steady ``rate`` a second until ``stop``."""
    tasks: set[asyncio.Task[Any]] = set()
    number = 0
    began = time.monotonic()
    while not stop.is_set():
        body = {"product_id": products[number % len(products)], "qty": 1}
        post = client.post(
            "order", "/orders", tokens[number % len(tokens)], body, wait=PROBE_WAIT_SECONDS
        )
        task = asyncio.ensure_future(post)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        number += 1
        await asyncio.sleep(max(0.0, began + number / rate - time.monotonic()))
    if tasks:
        await asyncio.wait(tasks)


def latencies_ms(tracker: Tracker, probes: set[str], start: float, end: float) -> dict[str, Any]:
    """Time-to-decision of the probes commanded within [start, end), in ms."""
    commanded = tracker.commanded_at
    return summary_ms(
        [
            decision.at - commanded[order_id]
            for order_id, decision in tracker.decisions.items()
            if order_id in probes and order_id in commanded and start <= commanded[order_id] < end
        ]
    )


async def measure(orders: int, rate: float, hold: float, out: Path) -> dict[str, Any]:
    run_dir = out / "runs" / "expiry"
    run_dir.mkdir(parents=True, exist_ok=True)
    stack = BenchStack(run_settings(run_dir), run_dir)
    try:
        await stack.create()
        await stack.start()
        settings = stack.settings
        members = await seed_members(settings, MEMBERS)
        products = await list_products(stack.base_url, settings, PRODUCTS, 10 * orders, orders)
        events = ORDER_EVENTS.name(settings)
        watcher = OffsetWatcher(settings, [events]).start()
        tracker = Tracker(settings, from_end=True)
        tracker.start()
        await tracker.wait_ready()
        began = time.time()
        member_ids = [m.member_id for m in members]
        await write_holds(settings, orders, member_ids, products, hold)
        await poll_until(lambda: watcher.totals[events] >= orders, within=600)
        decided_s = time.time() - began
        await watcher.stop()
        stop = asyncio.Event()
        async with HttpClient(stack.base_url, connections=64) as client:
            tokens = [m.token for m in members]
            probing = asyncio.ensure_future(probe(client, tokens, products, rate, stop))

            def expired() -> int:
                return sum(1 for status in tracker.latest.values() if status == EXPIRED)

            await poll_until(lambda: expired() > 0, within=hold + 600)
            burst_began = time.time()
            drained = await poll_until(lambda: expired() >= orders, within=MAX_BURST_SECONDS)
            burst_ended = time.time()
            await asyncio.sleep(3.0)  # a few probes after the burst
            stop.set()
            await probing
        await asyncio.sleep(2.0)
        await tracker.stop()
        await tracker.catch_up()  # the commands, for time-to-decision
        probes = {str(c.body["order_id"]) for c in client.of("order") if c.body.get("order_id")}
        return {
            "orders": orders,
            "probe_rate": rate,
            "history_decided_s": round(decided_s, 1),
            "burst_drained_s": round(burst_ended - burst_began, 1) if drained else None,
            "expired_when_measured": expired(),
            "before_burst_ms": latencies_ms(tracker, probes, 0, burst_began),
            "during_burst_ms": latencies_ms(tracker, probes, burst_began, burst_ended),
            "probe_answers": client.statuses("order"),
        }
    finally:
        await stack.close(keep=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.expiry_burst", description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000, help="holds that expire together")
    parser.add_argument("--rate", type=float, default=100.0, help="probe orders a second")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds until the holds end")
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    out = args.out / time.strftime("%Y%m%d-%H%M%S")
    result = asyncio.run(measure(args.orders, args.rate, args.hold, out))
    out.mkdir(parents=True, exist_ok=True)
    (out / "expiry_burst.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
