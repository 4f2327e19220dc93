"""How many stock commands one worker decides per second.

Produces ``--orders`` ReserveOrder commands for ``--products`` products up front
(each product listed with enough units for a third of its orders, limit 1, so
every outcome occurs), then starts one real stock worker (``faust -A streams.app
worker``; with ``--with-saga`` also the saga worker that follows its decisions
into Redis and MySQL) and times the outcome events on ``order-events``: rate =
events / (last event's Kafka timestamp - first event's). Everything runs under a
fresh app id and a fresh MySQL database, both removed at the end.

    .venv/bin/python -m bench.stock_throughput --orders 20000 --products 8 [--with-saga]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import tempfile
import time
from pathlib import Path

from bench.run_data import create_database, drop_database, drop_topics_and_keys, fresh_settings
from streams.admin import ensure_topics
from streams.settings import Settings
from tests.support.processes import ManagedProcess, wait_http_ok, worker_process
from tests.support.stock_sale import EventReader, listing, produce_commands, reserve


def commands(orders: int, products: int, seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    now = time.time()
    per_product = orders // products
    listings = [listing(p, per_product // 3, 1, now) for p in range(1, products + 1)]
    reserves = [
        reserve(1 + i % products, 1 + rng.randrange(orders // 2), now) for i in range(orders)
    ]
    return [*listings, *reserves]


async def measure(
    settings: Settings, orders: int, products: int, workdir: Path, with_saga: bool
) -> None:
    await ensure_topics(settings)
    sent = await produce_commands(settings, commands(orders, products))
    print(
        f"produced {len(sent)} commands ({products} listings) to {settings.app_id}.stock-commands"
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
        await report(settings, orders, worker)
    finally:
        for process in started:
            process.stop()


async def report(settings: Settings, orders: int, worker: ManagedProcess) -> None:
    async with EventReader(settings) as reader:
        deadline = time.monotonic() + 600
        while len(reader.raw) < orders and time.monotonic() < deadline:
            await reader.poll()
    stamps = sorted(reader.timestamps)
    span = (stamps[-1] - stamps[0]) / 1000
    print(f"{len(stamps)} outcome events in {span:.2f} s: {len(stamps) / span:,.0f} decisions/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument(
        "--with-saga", action="store_true", help="a saga worker follows the decisions meanwhile"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stock-bench-") as tmp:
        settings = fresh_settings(Settings.from_env(), Path(tmp))
        create_database(settings)
        try:
            asyncio.run(measure(settings, args.orders, args.products, Path(tmp), args.with_saga))
        finally:
            drop_database(settings)
            asyncio.run(drop_topics_and_keys(settings))


if __name__ == "__main__":
    main()
