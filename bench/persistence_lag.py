"""Persistence lag: how long after the last order event MySQL holds every order.

Runs against the servers `make services` started, in a namespace of its own (a
fresh app id, topics and database, removed at the end): starts one Faust
worker, produces ``--orders`` orders as two OrderEvents each (reserved, then a
final status) straight onto ``order-events``, as the stock agent would, and
measures from the broker's ack of the last event until MySQL has every order in
its final status. Prints one JSON line.

    .venv/bin/python -m bench.persistence_lag --orders 10000   # 20,000 events
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.checks import order_rows
from kit.kafka import produce
from kit.namespace import fresh_namespace
from kit.processes import ManagedProcess, wait_http_ok, worker_process
from streams.settings import Settings
from streams.topics import ORDER_EVENTS

FINALS = ["PAID", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"]
EVENT_OF = {
    "RESERVED": "OrderReserved",
    "PAID": "OrderPaid",
    "CANCELLED": "OrderCancelled",
    "PAYMENT_FAILED": "OrderPaymentFailed",
    "EXPIRED": "OrderExpired",
}


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


def _start_worker(settings: Settings, data_dir: Path) -> ManagedProcess:
    # The saga role: it persists order events; no stock worker is needed.
    saga = dataclasses.replace(settings, worker_role="saga")
    worker = worker_process(saga, data_dir / "worker", data_dir, "worker", log_level="warn")
    wait_http_ok(f"http://127.0.0.1:{worker.port}/ready/", worker.start(), timeout=60)
    return worker


def _final_rows(settings: Settings) -> int:
    return order_rows(settings, "status_rank = 2")


async def _produce(settings: Settings, events: list[dict[str, Any]]) -> float:
    """The events onto ``order-events``; the monotonic time of the last ack."""
    await produce(settings, ORDER_EVENTS.name(settings), events, batch_bytes=256 * 1024)
    return time.monotonic()


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=10_000, help="orders (2 events each)")
    parser.add_argument("--products", type=int, default=50)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="persistence-lag-") as tmp,
        fresh_namespace(Settings.from_env(), Path(tmp), "bench", remove_all=True) as settings,
    ):
        data_dir = Path(tmp)
        worker: ManagedProcess | None = None
        try:
            worker = _start_worker(settings, data_dir)
            print(json.dumps(asyncio.run(_measure(settings, args.orders, args.products))))
        except Exception:
            print((data_dir / "worker.log").read_text(errors="replace")[-4000:], file=sys.stderr)
            raise
        finally:
            if worker is not None:
                worker.stop(60)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
