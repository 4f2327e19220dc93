"""``faust -A streams.app stock``: it finds every running stock worker by itself.

Two stock workers run on ports no setting names (``FLASHSALE_WORKERS`` stays 1 in
the command's environment); the command must still ask both, through the consumer
group's description, and print every product, as a table and as JSON.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import time
from collections.abc import Callable

import pytest

from kit.commands import listing, produce_commands
from kit.processes import VENV_BIN, ManagedProcess, wait_http_ok
from streams.settings import Settings
from tests.support.stock_sale import worker_stock

pytestmark = pytest.mark.integration

Workers = Callable[..., ManagedProcess]
PRODUCTS = range(1, 9)


def run_stock_command(settings: Settings, *options: str) -> subprocess.CompletedProcess[str]:
    argv = [str(VENV_BIN / "faust"), "-A", "streams.app", "stock", *options]
    env = {"PATH": str(VENV_BIN), **settings.to_env()}
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


def wait_listed(ports: list[int], count: int, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while sum(len(worker_stock(port)) for port in ports) < count:
        assert time.monotonic() < deadline, "the workers did not list every product"
        time.sleep(0.2)


async def test_stock_command_asks_every_running_worker(
    fresh_settings: Settings, worker_factory: Workers
) -> None:
    # Started side by side (their start-ups overlap), then both must be ready.
    workers = [worker_factory(fresh_settings, n, wait=False) for n in ("worker-1", "worker-2")]
    for worker in workers:
        await asyncio.to_thread(wait_http_ok, f"http://127.0.0.1:{worker.port}/ready/", worker)
    await produce_commands(fresh_settings, [listing(p, 10 * p, 1, time.time()) for p in PRODUCTS])
    ports = [w.port for w in workers]
    await asyncio.to_thread(wait_listed, ports, len(PRODUCTS))

    done = await asyncio.to_thread(run_stock_command, fresh_settings, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["workers"] == sorted(f"http://127.0.0.1:{port}" for port in ports)
    by_id = {p["product_id"]: p for p in answer["products"]}
    assert sorted(by_id) == list(PRODUCTS)
    assert all(by_id[p]["remaining"] == by_id[p]["stock"] == 10 * p for p in PRODUCTS)

    table = await asyncio.to_thread(run_stock_command, fresh_settings)
    assert table.returncode == 0, table.stderr
    cells = [[c.strip() for c in line.split("|")[1:3]] for line in table.stdout.splitlines()]
    assert all([str(p), str(10 * p)] in cells for p in PRODUCTS), table.stdout


def test_stock_command_without_workers_says_so_in_one_line(fresh_settings: Settings) -> None:
    nobody = dataclasses.replace(fresh_settings, app_id=f"{fresh_settings.app_id}-nobody")
    done = run_stock_command(nobody, "--json")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"no stock worker is running (consumer group {nobody.app_id} has no member)"
    ], done.stderr
