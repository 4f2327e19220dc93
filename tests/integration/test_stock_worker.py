"""The stock worker as a real process: a sale straight through Kafka, crashes included.

2,000 orders of one unit from 500 members (many order several times, some
orders are sent twice as an API retry would) for 100 units with a limit of 1
per member. Outcomes are read from ``order-events`` and compared with an
independent model of the sale in Kafka offset order (first come, first served).
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from kit.commands import Sent, listing, produce_commands
from kit.kafka import EventReader, read_to_end
from kit.processes import ManagedProcess
from streams.admin import ensure_topics
from streams.redis_keys import stock_key
from streams.settings import Settings
from streams.topics import STOCK_TABLE
from tests.support.local_stores import LocalPartition, committed_prefix, read_local_store
from tests.support.stock_sale import (
    expected_outcomes,
    produce_batched,
    sale_orders,
    wait_quiet,
    worker_stock,
)

pytestmark = pytest.mark.integration

PRODUCT = 42
# Logged when a start deletes a local store: written before commit-ordered writes, from
# another changelog (tables/local_store.py), or ahead of its changelog (faust_fixes fix 8).
STORE_DELETED = (
    "local store written before commit-ordered writes",
    "local store not written from the changelog",
    "the store was not written from this changelog",
)


def deleted_a_store(log: str) -> bool:
    return any(message in log for message in STORE_DELETED)


def check_outcomes(sent: list[Sent], by_order: dict[str, list[bytes]]) -> None:
    expected = expected_outcomes(sent)
    assert by_order.keys() == expected.keys()
    for order_id, raws in by_order.items():
        assert len(set(raws)) == 1, f"order {order_id} got different outcomes: {set(raws)}"
    events = {order_id: json.loads(raws[0]) for order_id, raws in by_order.items()}
    got = {order_id: (e["status"], e["reason"]) for order_id, e in events.items()}
    assert Counter(status for status, _ in got.values())["RESERVED"] == 100
    assert got == expected
    check_first_come_first_served(list(events.values()))


def check_first_come_first_served(events: list[dict[str, Any]]) -> None:
    """No order is sold out while a later one (same or larger qty) is reserved."""

    def place(e: dict[str, Any]) -> tuple[int, int]:
        return (e["command_offset"], e["command_index"])

    last_reserved = max(place(e) for e in events if e["status"] == "RESERVED")
    sold_out = [e for e in events if e["reason"] == "SOLD_OUT"]
    assert all(place(e) > last_reserved for e in sold_out)


async def wait_ready(worker: ManagedProcess, runs: int, within: float = 60.0) -> None:
    """Until the worker's log says Ready for the ``runs``-th time (the web port answers sooner)."""
    deadline = time.monotonic() + within
    while worker.log().count("[^Worker]: Ready") < runs:
        assert time.monotonic() < deadline and worker.alive, worker.log()[-3000:]
        await asyncio.sleep(0.1)


async def wait_for_last_command(
    port: int, last_offset: int, within: float = 60.0, product_id: int = PRODUCT
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    products: dict[int, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        try:
            products = {p["product_id"]: p for p in worker_stock(port)}
        except OSError:  # still starting
            products = {}
        if products.get(product_id, {}).get("last_offset") == last_offset:
            return products[product_id]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the worker did not reach offset {last_offset}: {products}")


def handled(port: int, outcome: str) -> float:
    """A worker's count of commands handled with this outcome (its /metrics)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(f'flashsale_stock_commands_total{{outcome="{outcome}"}}'):
                return float(line.split()[-1])
    return 0.0


async def check_projection(redis: Redis, settings: Settings, product: dict[str, Any]) -> None:
    """Redis shows the table's counters, at the table's offset (allowing the batch delay)."""
    names = ("stock", "remaining", "held", "sold", "last_offset")
    want = {("offset" if n == "last_offset" else n): str(product[n]) for n in names}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if await redis.hgetall(stock_key(settings, PRODUCT)) == want:
            return
        await asyncio.sleep(0.05)
    assert await redis.hgetall(stock_key(settings, PRODUCT)) == want


async def test_a_sale_reserves_exactly_the_stock_first_come_first_served(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    redis_client: Redis,
) -> None:
    worker = worker_factory(fresh_settings)
    orders = sale_orders(PRODUCT, count=2000, members=500, retries=50, seed=1)
    sent = await produce_commands(fresh_settings, [listing(PRODUCT, 100, 1, time.time()), *orders])

    async with EventReader(fresh_settings) as reader:
        await reader.until_orders({o["order_id"] for o in orders}, within=60)
        product = await wait_for_last_command(worker.web_port, sent[-1].offset)  # type: ignore[attr-defined]
        await reader.poll()
    check_outcomes(sent, reader.by_order())
    assert len(reader.raw) == len(orders)  # one event per order command, retries included
    assert (product["stock"], product["remaining"], product["held"], product["sold"]) == (
        100,
        0,
        100,
        0,
    )
    await check_projection(redis_client, fresh_settings, product)
    assert "Traceback" not in worker.log()
    await wait_quiet(fresh_settings)  # so that the worker stops cleanly and quickly


async def produce_bare(settings: Settings, commands: list[dict[str, Any]]) -> list[Sent]:
    return await produce_commands(settings, commands)


async def produce_in_batches(settings: Settings, commands: list[dict[str, Any]]) -> list[Sent]:
    return await produce_batched(settings, commands, seed=len(commands))


@pytest.mark.parametrize("produce", [produce_bare, produce_in_batches], ids=["bare", "batches"])
async def test_kill_minus_nine_mid_sale_changes_no_outcome(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    redis_client: Redis,
    produce: Callable[[Settings, list[dict[str, Any]]], Awaitable[list[Sent]]],
    tmp_path: Path,
) -> None:
    """``batches``: the orders in CommandBatch records of 1 to 40, so the kill falls in
    the middle of a batch's writes and the replay decides whole batches again.

    Each kill leaves the local store behind, and the next run keeps it: it must be
    exactly the committed changelog up to the offset it names (nothing the changelog
    lacks), so that restoring the changelog after that offset rebuilds the table."""
    orders = sale_orders(PRODUCT, count=2000, members=500, retries=50, seed=2)
    chunks = [orders[:700], orders[700:1400], orders[1400:]]
    sent = await produce_commands(fresh_settings, [listing(PRODUCT, 100, 1, time.time())])
    worker = worker_factory(fresh_settings)
    # The listing decided and committed: the first kill leaves a store with something in it.
    await wait_quiet(fresh_settings)
    left_behind: list[dict[int, LocalPartition]] = []
    async with EventReader(fresh_settings) as reader:
        for number, chunk in enumerate(chunks[:2], start=1):
            seen = len(reader.raw)
            sent += await produce(fresh_settings, chunk)
            while len(reader.raw) < seen + 200:  # kill it while it is deciding this chunk
                await reader.poll()
            worker.kill()
            left_behind.append(read_local_store(worker_data(tmp_path)))
            worker = worker_factory(fresh_settings)
            await wait_ready(worker, runs=number + 1)
            assert not deleted_a_store(worker.log()), "a store written by commit was deleted"
        sent += await produce(fresh_settings, chunks[2])
        await reader.until_orders({o["order_id"] for o in orders}, within=60)
        product = await wait_for_last_command(worker.web_port, sent[-1].offset)  # type: ignore[attr-defined]
        await reader.poll()

    check_outcomes(sent, reader.by_order())
    # A kill aborts the changelog's open transaction: what the killed worker decided
    # since its last commit is decided again by the next run (its events sent twice,
    # the same bytes), or replayed over a changelog that has it (agents/stock_replay.py).
    again = len(reader.raw) - len(orders)
    replays = handled(worker.web_port, "REPLAYED") + handled(worker.web_port, "REPAIRED")  # type: ignore[attr-defined]
    assert again + replays > 0, "no command was decided a second time: the kills hit nothing"
    assert (product["stock"], product["remaining"], product["held"], product["sold"]) == (
        100,
        0,
        100,
        0,
    )
    await check_projection(redis_client, fresh_settings, product)

    changelog = await read_to_end(fresh_settings, changelog_topic(fresh_settings))
    for store in left_behind:
        assert store, "the killed worker left no local store"
        for partition, (offset, records) in store.items():
            assert records == committed_prefix(changelog, partition, offset), (
                f"partition {partition}: the local store is not the committed changelog"
                f" up to its offset {offset}"
            )
    assert any(records for store in left_behind for _, records in store.values())


def worker_data(tmp_path: Path) -> Path:
    """The data folder ``worker_factory`` gives its first stock worker."""
    return tmp_path / "worker-1.data"


def changelog_topic(settings: Settings) -> str:
    return f"{settings.app_id}-{STOCK_TABLE}-changelog"


async def test_a_clean_stop_keeps_the_local_store(
    fresh_settings: Settings, worker_factory: Callable[..., ManagedProcess]
) -> None:
    orders = sale_orders(PRODUCT, count=30, members=10, retries=5, seed=3)
    sent = await produce_commands(fresh_settings, [listing(PRODUCT, 100, 1, time.time()), *orders])
    worker = worker_factory(fresh_settings)
    before = await wait_for_last_command(worker.web_port, sent[-1].offset)  # type: ignore[attr-defined]
    await wait_quiet(fresh_settings)
    worker.stop()
    assert worker.proc is not None and worker.proc.returncode == 0, worker.log()[-3000:]

    worker = worker_factory(fresh_settings)
    await wait_ready(worker, runs=2)
    assert not deleted_a_store(worker.log())
    assert {p["product_id"]: p for p in worker_stock(worker.web_port)}[PRODUCT] == before  # type: ignore[attr-defined]

    more = sale_orders(PRODUCT, count=20, members=30, retries=0, seed=4)
    sent += await produce_commands(fresh_settings, [*orders[:5], *more])  # 5 retries, 20 new
    await wait_for_last_command(worker.web_port, sent[-1].offset)  # type: ignore[attr-defined]
    async with EventReader(fresh_settings) as reader:
        by_order = await reader.until_orders({o["order_id"] for o in orders + more}, within=30)
    expected = expected_outcomes(sent)
    assert {k: {json.loads(r)["status"] for r in v} for k, v in by_order.items()} == {
        k: {status} for k, (status, _) in expected.items()
    }
    assert all(len(set(raws)) == 1 for raws in by_order.values())


async def make_changelog_again(settings: Settings) -> None:
    """Delete the stock table's changelog topic and make it again, empty (as a Kafka
    whose data was wiped would have it), keeping the worker's data folder."""
    topic = changelog_topic(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
        deadline = time.monotonic() + 30
        while topic in await admin.list_topics():
            assert time.monotonic() < deadline, f"{topic} still listed 30 s after its deletion"
            await asyncio.sleep(0.2)
    finally:
        await admin.close()
    assert topic in await ensure_topics(settings)


async def test_a_local_store_ahead_of_its_changelog_is_restored_from_the_changelog(
    fresh_settings: Settings, worker_factory: Callable[..., ManagedProcess], tmp_path: Path
) -> None:
    """A worker whose kept store holds offsets past its changelog's end (the topic
    made again, Kafka's data wiped) deletes it and restores the changelog alone
    (streams/faust_fixes.py fix 8); Faust died at every start with ConsistencyError."""
    orders = sale_orders(PRODUCT, count=30, members=10, retries=0, seed=5)
    sent = await produce_commands(fresh_settings, [listing(PRODUCT, 100, 1, time.time()), *orders])
    worker = worker_factory(fresh_settings)
    await wait_for_last_command(worker.web_port, sent[-1].offset)  # type: ignore[attr-defined]
    await wait_quiet(fresh_settings)
    worker.stop()
    (marker,) = worker_data(tmp_path).glob(f"v*/tables/{STOCK_TABLE}.committed-prefix")
    assert f"changelog: {changelog_topic(fresh_settings)}\n" in marker.read_text()
    stored = read_local_store(worker_data(tmp_path))
    assert any(offset for offset, _ in stored.values()), "the sale left no store to test with"

    await make_changelog_again(fresh_settings)
    worker = worker_factory(fresh_settings)
    await wait_ready(worker, runs=2)
    assert "the store was not written from this changelog" in worker.log()
    assert "Traceback" not in worker.log()
    assert worker_stock(worker.web_port) == []  # type: ignore[attr-defined]  # the changelog's

    # It decides again: a new listing of another product sells from the changelog's state.
    again = sale_orders(PRODUCT + 1, count=30, members=10, retries=0, seed=6)
    sent = await produce_commands(fresh_settings, [listing(PRODUCT + 1, 5, 1, time.time()), *again])
    product = await wait_for_last_command(
        worker.web_port,  # type: ignore[attr-defined]
        sent[-1].offset,
        product_id=PRODUCT + 1,
    )
    assert (product["stock"], product["held"], product["remaining"]) == (5, 5, 0)
    await wait_quiet(fresh_settings)
    worker.stop()
    changelog = await read_to_end(fresh_settings, changelog_topic(fresh_settings))
    for partition, (offset, records) in read_local_store(worker_data(tmp_path)).items():
        assert records == committed_prefix(changelog, partition, offset), partition
