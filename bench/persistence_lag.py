"""Persistence lag: how long after the last order event MySQL holds every order.

Runs against the servers `make services` started, in a namespace of its own (a
fresh app id, topics and database, removed at the end): starts one Faust
worker, produces ``--orders`` orders as two OrderEvents each (reserved, then a
final status) straight onto ``order-events``, as the stock agent would, and
measures from the broker's ack of the last event until MySQL has every order in
its final status. Prints one JSON line.

    .venv/bin/python bench/persistence_lag.py --orders 10000   # 20,000 events
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import IO, Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from ops.worker_command import worker_argv
from storage.migrations import apply_migrations
from storage.mysql import MySQLConfig, connect
from storage.redis import create_redis
from streams.admin import ensure_topics
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, product_key

FINALS = ["PAID", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"]
EVENT_OF = {
    "RESERVED": "OrderReserved",
    "PAID": "OrderPaid",
    "CANCELLED": "OrderCancelled",
    "PAYMENT_FAILED": "OrderPaymentFailed",
    "EXPIRED": "OrderExpired",
}
VENV_BIN = Path(sys.executable).parent


def _events(orders: int, products: int, seed: int) -> list[dict[str, Any]]:
    now, rnd = time.time(), random.Random(seed)
    events = []
    for n in range(orders):
        base = {
            "order_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)),
            "member_id": n + 1,
            "product_id": 1 + n % products,
            "qty": 1,
            "amount": 5000,
            "reason": None,
            "created_at": now,
            "expires_at": now + 3600,
            "command_partition": 0,
            "command_offset": n,
        }
        for step, status in enumerate(["RESERVED", rnd.choice(FINALS)]):
            events.append(
                {**base, "event": EVENT_OF[status], "status": status, "updated_at": now + step}
            )
    return events


def _fresh_settings(data_dir: str) -> Settings:
    tag = uuid.uuid4().hex[:8]
    base = Settings.from_env()
    url = f"{base.mysql_url.rsplit('/', 1)[0]}/flashsale_lag{tag}"
    return dataclasses.replace(base, app_id=f"benchlag{tag}", mysql_url=url, data_dir=data_dir)


def _sql(settings: Settings, statement: str, database: bool = True) -> list[dict[str, Any]]:
    config = MySQLConfig.from_url(settings.mysql_url)
    conn = connect(config if database else config.with_database(""))
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            rows = list(cur.fetchall())
        conn.commit()
        return rows
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_worker(settings: Settings, data_dir: str, log: IO[bytes]) -> subprocess.Popen[bytes]:
    port = free_port()
    argv = worker_argv(Path(data_dir) / "worker", port, log_level="warn")
    env = {**os.environ, **settings.to_env()}
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
            return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the worker did not start")


def _final_rows(settings: Settings) -> int:
    return int(_sql(settings, "SELECT COUNT(*) AS n FROM orders WHERE status_rank = 2")[0]["n"])


async def _produce(settings: Settings, events: list[dict[str, Any]]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        topic = ORDER_EVENTS.name(settings)
        futures = [
            await producer.send(
                topic, key=product_key(e["product_id"]), value=json.dumps(e).encode()
            )
            for e in events
        ]
        await asyncio.gather(*futures)
        return time.monotonic()
    finally:
        await producer.stop()


async def _wait_rows(settings: Settings, count: int, within: float) -> float:
    deadline = time.monotonic() + within
    while (n := await asyncio.to_thread(_final_rows, settings)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {n} of {count} orders reached MySQL")
        await asyncio.sleep(0.05)
    return time.monotonic()


async def _measure(settings: Settings, orders: int, products: int) -> dict[str, Any]:
    # Warm-up: one order end to end, so the worker owns its partitions first.
    await _produce(settings, _events(1, 1, seed=0))
    await _wait_rows(settings, 1, 60)
    events = _events(orders, products, seed=1)
    started = time.monotonic()
    last_ack = await _produce(settings, events)
    done = await _wait_rows(settings, orders + 1, 300)
    return {
        "orders": orders,
        "events": len(events),
        "partitions": settings.partitions,
        "produce_seconds": round(last_ack - started, 3),
        "lag_seconds": round(done - last_ack, 3),
        "events_per_second_end_to_end": round(len(events) / (done - started)),
    }


async def _clean_up(settings: Settings) -> None:
    _sql(
        settings,
        f"DROP DATABASE IF EXISTS `{MySQLConfig.from_url(settings.mysql_url).database}`",
        database=False,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        # Exactly this run's topics: its own, and the worker's internal ones.
        prefixes = (f"{settings.app_id}.", f"{settings.app_id}-")
        ours = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()
    redis = create_redis(settings.redis_url)
    keys = [k async for k in redis.scan_iter(match=f"{settings.app_id}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders (2 events each)")
    parser.add_argument("--products", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="persistence-lag-") as data_dir:
        settings = _fresh_settings(data_dir)
        database = MySQLConfig.from_url(settings.mysql_url).database
        log_path = Path(data_dir, "worker.log")
        try:
            _sql(settings, f"CREATE DATABASE `{database}`", database=False)
            apply_migrations(settings.mysql_url)
            asyncio.run(ensure_topics(settings))
            with log_path.open("ab") as log:
                worker = _start_worker(settings, data_dir, log)
                try:
                    print(json.dumps(asyncio.run(_measure(settings, args.orders, args.products))))
                finally:
                    worker.terminate()
                    worker.wait(60)
        except Exception:
            print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            asyncio.run(_clean_up(settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
