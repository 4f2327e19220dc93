"""How many ``order-events`` the saga worker follows per second, and its CPU per event.

Produces ``--orders`` synthetic OrderEvents up front, as the stock agent would
have sent them (one decision per order: a third reserved, the rest rejected
SOLD_OUT; with ``--paid`` that share of the reserved ones also asks for payment
and is paid, so the gateway and ``payment-events`` are in the count), then starts
one real saga worker (``FLASHSALE_WORKER_ROLE=saga``) and follows its counter of
followed events (``flashsale_saga_order_events`` at ``GET /metrics``). Rate and CPU
(``utime + stime`` of the worker, all threads) are taken between the first sample
with events followed and the one with all of them, so the worker's start is left
out. Checks at the end (exit 1 if either fails): one MySQL row per order, and every
reservation a live hold in Redis. Everything runs under a fresh app id and MySQL database, removed
at the end.

    .venv/bin/python -m bench.saga_throughput --orders 20000 [--paid 0.5] [--profile f.raw]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import redis

from bench.cpu import cpu_seconds
from kit.kafka import end_offsets_total, produce
from kit.namespace import fresh_namespace
from kit.processes import VENV_BIN, ManagedProcess, wait_http_ok, worker_process
from storage.mysql import Cursor, Database
from streams.redis_keys import holds_key
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS

Json = dict[str, Any]
FOLLOWED = "flashsale_saga_order_events_total"
# Each sample costs the worker a scrape (about 10 ms of CPU): not too often.
SAMPLE_SECONDS = 0.5


def _event(name: str, order: Json, status: str, step: float, offset: int) -> Json:
    return {
        "event": name,
        **order,
        "status": status,
        "reason": "SOLD_OUT" if status == "REJECTED" else None,
        "updated_at": order["created_at"] + step,
        "expires_at": None if status == "REJECTED" else order["created_at"] + 3600,
        "command_partition": order["product_id"] % 8,
        "command_offset": offset,
        "command_index": 0,
    }


def events(orders: int, products: int, paid: float, seed: int = 7) -> tuple[list[Json], int]:
    """The sale's events in the order the stock agent would send them; the reservations."""
    rng = random.Random(seed)
    now = time.time()
    decisions, payments, reserved = [], [], 0
    for i in range(orders):
        order = {
            "order_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "member_id": 1 + rng.randrange(orders),
            "product_id": 1 + i % products,
            "qty": 1,
            "amount": 5000,
            "created_at": now,
        }
        if i % 3 == 0:
            reserved += 1
            decisions.append(_event("OrderReserved", order, "RESERVED", 0, i))
            if rng.random() < paid:
                payments.append(_event("PaymentRequested", order, "RESERVED", 1, orders + i))
                payments.append(_event("OrderPaid", order, "PAID", 2, 2 * orders + i))
        else:
            decisions.append(_event("OrderRejected", order, "REJECTED", 0, i))
    # A paid order leaves the hold set; the rest stay live holds (an hour long).
    return [*decisions, *payments], reserved - len(payments) // 2


def followed(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(FOLLOWED):
                return int(float(line.split()[1]))
    return 0


def follow(saga: ManagedProcess, total: int, timeout: float) -> tuple[int, float, float]:
    """(events, seconds, CPU seconds) from the first sample with events followed to the
    one with ``total`` (or the timeout)."""
    first: tuple[int, float, float] | None = None
    deadline = time.monotonic() + timeout
    while True:
        count, now, cpu = followed(saga.port), time.monotonic(), cpu_seconds(saga.pid)
        if first is None and count > 0:
            first = (count, now, cpu)
        if count >= total or now > deadline:
            break
        time.sleep(SAMPLE_SECONDS)
    if first is None:
        raise SystemExit("the saga worker followed no event")
    if count == first[0]:  # all of them between two samples: nothing to time
        raise SystemExit(f"the saga worker followed all {count} events at once; give it more")
    return count - first[0], now - first[1], cpu - first[2]


def _count_orders(cur: Cursor) -> list[dict[str, Any]]:
    cur.execute("SELECT COUNT(*) AS n FROM orders")
    return list(cur.fetchall())


async def check(settings: Settings, orders: int, holds: int) -> tuple[bool, str]:
    db = Database(settings.mysql_url, size=1)
    try:
        (row,) = await db.run(_count_orders)
    finally:
        db.close()
    client = redis.Redis.from_url(settings.redis_url)
    try:
        live = int(client.zcard(holds_key(settings)))
    finally:
        client.close()
    ok = row["n"] == orders and live == holds
    settlements = await end_offsets_total(settings, STOCK_COMMANDS.name(settings))
    return ok, (
        f"{'ok' if ok else 'WRONG'}: {row['n']}/{orders} MySQL rows, {live}/{holds} holds;"
        f" {settlements} records of settlements on stock-commands"
    )


def measure(settings: Settings, args: argparse.Namespace, workdir: Path) -> None:
    values, holds = events(args.orders, args.products, args.paid)
    asyncio.run(produce(settings, ORDER_EVENTS.name(settings), values, batch_bytes=512 * 1024))
    print(f"produced {len(values)} order events to {ORDER_EVENTS.name(settings)}")
    saga_settings = dataclasses.replace(settings, worker_role="saga", worker_id="saga-1")
    saga = worker_process(saga_settings, workdir / "saga.data", workdir, "saga").start()
    profiler = None
    try:
        wait_http_ok(f"http://127.0.0.1:{saga.port}/", saga)
        if args.profile:
            argv = [str(VENV_BIN / "py-spy"), "record", "--pid", str(saga.pid), "--format"]
            argv += ["raw", "--rate", "200", "-o", args.profile, "--duration", "600"]
            profiler = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        count, seconds, cpu = follow(saga, len(values), timeout=600)
        print(
            f"saga: {count} events in {seconds:.2f} s: {count / seconds:,.0f} events/s,"
            f" {cpu * 1e6 / count:,.0f} µs CPU per event ({cpu:.2f} s CPU)"
        )
        ok, report = asyncio.run(check(settings, args.orders, holds))
        print(report)
        if not ok:
            raise SystemExit(1)
    finally:
        if profiler is not None:
            profiler.send_signal(2)  # SIGINT: py-spy writes what it has
            profiler.wait(30)
        saga.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument("--paid", type=float, default=0.0, help="share of reservations paid")
    parser.add_argument("--profile", help="py-spy raw profile of the saga worker to this file")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="saga-bench-") as tmp,
        fresh_namespace(Settings.from_env(), Path(tmp), "bench", remove_all=True) as settings,
    ):
        measure(settings, args, Path(tmp))


if __name__ == "__main__":
    main()
