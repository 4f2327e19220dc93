"""How many stock commands one worker decides per second, and at what cost.

Produces ``--orders`` ReserveOrder commands for ``--products`` products up front
(each product listed with enough units for a third of its orders, limit 1, so
every outcome occurs), ``--per-record`` of one product's orders to a record (a
CommandBatch, as the API packs them; 1 = bare commands), then starts one real
stock worker (``faust -A streams.app worker``; with ``--with-saga`` also the saga
worker that follows its decisions into Redis and MySQL) and times the outcome
events on ``order-events``: rate = events / (last event's Kafka timestamp -
first event's). It also gives the worker's CPU per decision (its user + system
time from the first event seen to the last, over the events in between: a
figure the machine's other load hardly moves, unlike the rate) and the records
produced per order (changelog and events); with the saga worker, also how long after
the last decision MySQL had a row for every order. Everything runs under a fresh app id
and a fresh MySQL database, both removed at the end.

    .venv/bin/python -m bench.stock_throughput --orders 20000 --products 8 \
        [--per-record 50] [--with-saga]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.checks import order_rows
from bench.cpu import cpu_seconds
from kit.commands import listing, produce_commands, reserve
from kit.kafka import EventReader, read_to_end
from kit.namespace import fresh_namespace
from kit.processes import ManagedProcess, wait_http_ok, worker_process
from streams.records import CommandBatch
from streams.settings import Settings
from streams.topics import STOCK_TABLE
from tables.stock_transactions import COMMITTED_WITHIN_SECONDS


def commands(
    orders: int, products: int, per_record: int = 1, seed: int = 7
) -> list[dict[str, object]]:
    rng = random.Random(seed)
    now = time.time()
    per_product = orders // products
    listings = [listing(p, per_product // 3, 1, now) for p in range(1, products + 1)]
    reserves = [
        reserve(1 + i % products, 1 + rng.randrange(orders // 2), now) for i in range(orders)
    ]
    return [*listings, *packed(reserves, per_record)]


def packed(reserves: list[dict[str, Any]], per_record: int) -> list[dict[str, Any]]:
    """Each product's orders in CommandBatch records of ``per_record``, in order."""
    if per_record <= 1:
        return reserves
    pending: dict[int, list[dict[str, Any]]] = {}
    records: list[dict[str, Any]] = []
    for order in reserves:
        batch = pending.setdefault(order["product_id"], [])
        batch.append(order)
        if len(batch) == per_record:
            batched = CommandBatch(product_id=order["product_id"], commands=batch)
            records.append(dict(batched.to_representation()))
            pending[order["product_id"]] = []
    for product_id, batch in pending.items():
        if batch:
            records.append(
                dict(CommandBatch(product_id=product_id, commands=batch).to_representation())
            )
    return records


async def measure(
    settings: Settings, orders: int, products: int, per_record: int, workdir: Path, with_saga: bool
) -> None:
    sent = await produce_commands(settings, commands(orders, products, per_record))
    print(
        f"produced {len(sent)} records ({products} listings, {orders} orders) to"
        f" {settings.app_id}.stock-commands"
    )
    worker = worker_process(settings, workdir / "worker.data", workdir, "worker")
    saga_settings = dataclasses.replace(settings, worker_role="saga")
    saga = worker_process(saga_settings, workdir / "saga.data", workdir, "saga")
    started = [worker, saga] if with_saga else [worker]
    for process in started:
        process.start()
    try:
        for process in started:
            wait_http_ok(f"http://127.0.0.1:{process.web_port}/", process)
        await report(settings, orders, worker, with_saga)
    finally:
        for process in started:
            process.stop()


def persistence_lag(settings: Settings, orders: int, last_decision_ms: int) -> float | None:
    """Seconds from the last decision's Kafka timestamp until MySQL has a row for every
    order (polled every 50 ms, at most 60 s; None if it never has)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if order_rows(settings) >= orders:
            return time.time() - last_decision_ms / 1000
        time.sleep(0.05)
    return None


async def report(settings: Settings, orders: int, worker: ManagedProcess, with_saga: bool) -> None:
    async with EventReader(settings) as reader:
        deadline = time.monotonic() + 600
        while not reader.raw and time.monotonic() < deadline:
            await reader.poll()
        seen_first, cpu_first = len(reader.raw), cpu_seconds(worker.pid)
        while len(reader.raw) < orders and time.monotonic() < deadline:
            await reader.poll()
        cpu = cpu_seconds(worker.pid) - cpu_first
    stamps = sorted(reader.timestamps)
    span = (stamps[-1] - stamps[0]) / 1000
    print(f"{len(stamps)} outcome events in {span:.2f} s: {len(stamps) / span:,.0f} decisions/s")
    decided = len(reader.raw) - seen_first
    print(f"worker CPU: {cpu * 1e6 / max(decided, 1):,.0f} µs per decision ({decided} decisions)")
    if with_saga:
        lag = persistence_lag(settings, orders, stamps[-1])
        if lag is None:
            print("MySQL: some orders still without a row 60 s after the last decision")
        else:
            print(f"MySQL: a row for every order within {max(lag, 0.0):.2f} s of the last decision")
    # The last transaction's records leave the worker with its commit. Records read, not
    # end offsets: the transactions' commit markers take offsets.
    await asyncio.sleep(COMMITTED_WITHIN_SECONDS)
    changelog = len(await read_to_end(settings, f"{settings.app_id}-{STOCK_TABLE}-changelog"))
    print(
        f"records per order: {changelog / orders:.2f} changelog + {len(reader.raw) / orders:.2f}"
        " events"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument(
        "--per-record", type=int, default=1, help="orders of one product per CommandBatch record"
    )
    parser.add_argument(
        "--with-saga", action="store_true", help="a saga worker follows the decisions meanwhile"
    )
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="stock-bench-") as tmp,
        fresh_namespace(Settings.from_env(), Path(tmp), "bench", remove_all=True) as settings,
    ):
        shape = (args.orders, args.products, args.per_record)
        asyncio.run(measure(settings, *shape, Path(tmp), args.with_saga))


if __name__ == "__main__":
    main()
