"""Driving the stock worker straight through Kafka: a sale's commands (``kit.commands``)
in, outcome events (``kit.kafka.EventReader``) out, checked against a model of the sale.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import urllib.request
from typing import Any

from kit.commands import Sent, produce_commands, reserve
from ops.audit_kafka import GroupLag
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, STOCK_COMMANDS, reader_groups

Json = dict[str, Any]


def sale_orders(product_id: int, count: int, members: int, retries: int, seed: int) -> list[Json]:
    """``count`` orders of one unit from ``members`` members (many order more than once),
    ``retries`` of them sent a second time with the same order id (an API retry)."""
    rng = random.Random(seed)
    now = time.time()
    orders = [reserve(product_id, 1 + rng.randrange(members), now) for _ in range(count - retries)]
    for original in rng.sample(orders, retries):
        orders.insert(rng.randrange(len(orders) + 1), dict(original))
    return orders


async def produce_batched(settings: Settings, commands: list[Json], seed: int) -> list[Sent]:
    """``commands`` (one product's) packed in CommandBatch records of 1 to 40, as the API
    packs orders that arrive together; where each command landed."""
    rng = random.Random(seed)
    records: list[list[Json]] = []
    while len(commands) > sum(map(len, records)):
        start = sum(map(len, records))
        records.append(commands[start : start + rng.randint(1, 40)])
    values = [
        r[0]
        if len(r) == 1
        else {"kind": "CommandBatch", "product_id": r[0]["product_id"], "commands": r}
        for r in records
    ]
    landed = await produce_commands(settings, values)
    return [
        Sent(command, where.partition, where.offset, index if len(record) > 1 else 0)
        for record, where in zip(records, landed, strict=True)
        for index, command in enumerate(record)
    ]


def expected_outcomes(sent: list[Sent]) -> dict[str, tuple[str, str | None]]:
    """An independent model of the sale: one unit per order, limit 1, in offset order."""
    remaining = 0
    holders: set[int] = set()
    outcomes: dict[str, tuple[str, str | None]] = {}
    for s in sorted(sent, key=lambda s: (s.offset, s.index)):
        c = s.command
        if c["kind"] == "ListProduct":
            remaining = c["stock"]
        elif c["order_id"] in outcomes:
            continue
        elif c["member_id"] in holders:
            outcomes[c["order_id"]] = ("REJECTED", "LIMIT_EXCEEDED")
        elif remaining == 0:
            outcomes[c["order_id"]] = ("REJECTED", "SOLD_OUT")
        else:
            remaining -= 1
            holders.add(c["member_id"])
            outcomes[c["order_id"]] = ("RESERVED", None)
    return outcomes


def worker_stock(port: int) -> list[Json]:
    """The product records a worker serves at ``GET /stock/``."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stock/", timeout=5) as resp:
        return list(json.loads(resp.read())["products"])


async def wait_quiet(settings: Settings, within: float = 30.0) -> None:
    """Until the workers' consumer groups have committed every message of the pipeline's
    topics (a clean stop is then quick: no agent holds a message)."""
    lag = GroupLag(
        settings.kafka_bootstrap, reader_groups(settings, (STOCK_COMMANDS, ORDER_EVENTS))
    )
    await lag.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            behind = await lag.measure()
            if not any(behind.values()):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"the workers did not commit everything: {behind}")
    finally:
        await lag.stop()
