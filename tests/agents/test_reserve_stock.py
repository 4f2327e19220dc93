"""The stock agent through ``test_context()``, with the table in memory.

No Kafka here: outcome events are captured where the agent sends them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from agents import reserve_stock as module
from agents.stock_replay import DUPLICATE, REPLAYED
from streams.app import app, order_events
from tables.stock import key_to_stock_record
from tables.stock_records import member_table_key, order_table_key, product_table_key
from tables.stock_store import StockStore

T0 = 1_000_000.0


@pytest.fixture(scope="module", autouse=True)
def memory_store() -> Iterator[None]:
    app.conf.store = "memory://"  # type: ignore[assignment]  # before the store is built
    yield


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, dict[str, Any]]]:
    """The outcome events the agent sends (key, value); changelog records are dropped."""
    captured: list[tuple[bytes, dict[str, Any]]] = []
    events_topic = order_events.get_topic_name()

    async def send(self: Any, topic: str, key: bytes, value: bytes, partition: int) -> None:
        if topic == events_topic:
            captured.append((key, json.loads(value)))

    monkeypatch.setattr(StockStore, "send", send)
    return captured


@pytest.fixture
async def agent(sent: list[Any]) -> AsyncIterator[Any]:
    key_to_stock_record.data.clear()
    async with module.reserve_stock.test_context() as test_agent:
        yield test_agent


def listing(product_id: int, stock: int, limit: int = 1) -> bytes:
    body = {
        "kind": "ListProduct",
        "product_id": product_id,
        "stock": stock,
        "per_user_limit": limit,
        "price": 1000,
        "sale_price": 500,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "at": T0,
    }
    return json.dumps(body).encode()


def order(product_id: int, order_id: str, member_id: int, qty: int = 1) -> bytes:
    body = {
        "kind": "ReserveOrder",
        "product_id": product_id,
        "order_id": order_id,
        "member_id": member_id,
        "qty": qty,
        "amount": 500 * qty,
        "hold_seconds": 300,
        "at": T0 + 1,
    }
    return json.dumps(body).encode()


async def put(agent: Any, value: bytes, offset: int | None = None) -> Any:
    if offset is not None:
        agent.sent_offset = offset  # the same place again: a redelivery
    before = agent.processed_offset
    await agent.put(value, partition=2)
    return agent.results[before]


async def test_first_come_first_served_within_limits(agent: Any, sent: list[Any]) -> None:
    await put(agent, listing(11, stock=2, limit=1))
    outcomes = [
        (await put(agent, order(11, f"a{i}", member_id=m))).outcomes[0]
        for i, m in enumerate([1, 1, 2, 3, 4])
    ]
    assert outcomes == ["RESERVED", "LIMIT_EXCEEDED", "RESERVED", "SOLD_OUT", "SOLD_OUT"]

    product = key_to_stock_record[product_table_key(11)]
    assert (product["stock"], product["remaining"], product["held"], product["sold"]) == (
        2,
        0,
        2,
        0,
    )
    assert product["last_offset"] == 5
    assert key_to_stock_record[member_table_key(11, 1)] == {"units": 1}
    assert key_to_stock_record[order_table_key("a3")]["reason"] == "SOLD_OUT"
    assert [p["product_id"] for p in module.product_records()] == [11]

    assert [key for key, _ in sent] == [b"11"] * 5
    assert [(e["order_id"], e["status"], e["command_offset"]) for _, e in sent] == [
        ("a0", "RESERVED", 1),
        ("a1", "REJECTED", 2),
        ("a2", "RESERVED", 3),
        ("a3", "REJECTED", 4),
        ("a4", "REJECTED", 5),
    ]
    assert all(e["command_partition"] == 2 for _, e in sent)


async def test_undecodable_commands_are_skipped(agent: Any, sent: list[Any]) -> None:
    skipped = module.stock_metrics().undecodable._value.get()
    for garbage in (b"not json", b'{"kind": "Nope"}', b"[1]", b'{"kind": "ReserveOrder"}'):
        assert await put(agent, garbage) is None
    await put(agent, listing(12, stock=1))
    assert (await put(agent, order(12, "b1", member_id=1))).outcomes == ["RESERVED"]
    assert module.stock_metrics().undecodable._value.get() == skipped + 4
    assert len(sent) == 1


async def test_a_redelivered_command_is_not_applied_twice(agent: Any, sent: list[Any]) -> None:
    await put(agent, listing(13, stock=5, limit=2))
    first = await put(agent, order(13, "c1", member_id=1))
    await put(agent, order(13, "c2", member_id=2))

    again = await put(agent, order(13, "c1", member_id=1), offset=1)
    assert again.outcomes == [REPLAYED] and again.writes == []
    assert again.events == first.events
    assert key_to_stock_record[product_table_key(13)]["remaining"] == 3
    assert key_to_stock_record[member_table_key(13, 1)] == {"units": 1}


async def test_a_retried_order_gets_its_first_outcome_back(agent: Any, sent: list[Any]) -> None:
    await put(agent, listing(14, stock=5, limit=2))
    first = await put(agent, order(14, "d1", member_id=1))
    retry = await put(agent, order(14, "d1", member_id=1))
    assert retry.outcomes == [DUPLICATE]
    assert sent[-1][1] == sent[-2][1] == first.events[0]
    assert key_to_stock_record[product_table_key(14)]["remaining"] == 4


def batch(product_id: int, *orders: bytes) -> bytes:
    commands = [json.loads(o) for o in orders]
    body = {"kind": "CommandBatch", "product_id": product_id, "commands": commands}
    return json.dumps(body).encode()


async def test_a_batch_record_is_decided_in_list_order(agent: Any, sent: list[Any]) -> None:
    await put(agent, listing(15, stock=2, limit=1))
    orders = [order(15, f"e{i}", member_id=m) for i, m in enumerate([1, 1, 2, 3])]
    step = await put(agent, batch(15, *orders))
    assert step.outcomes == ["RESERVED", "LIMIT_EXCEEDED", "RESERVED", "SOLD_OUT"]
    assert step.writes[0][0] == product_table_key(15)
    assert [key for key, _ in step.writes].count(product_table_key(15)) == 1
    assert [(e["order_id"], e["command_offset"], e["command_index"]) for _, e in sent[-4:]] == [
        ("e0", 1, 0),
        ("e1", 1, 1),
        ("e2", 1, 2),
        ("e3", 1, 3),
    ]
    assert key_to_stock_record[product_table_key(15)]["remaining"] == 0


async def test_a_batch_with_a_stranger_is_skipped_whole(agent: Any, sent: list[Any]) -> None:
    await put(agent, listing(16, stock=5))
    skipped = module.stock_metrics().undecodable._value.get()
    mixed = batch(16, order(16, "f1", member_id=1), order(17, "f2", member_id=2))
    nested = json.dumps({"kind": "CommandBatch", "product_id": 16, "commands": [json.loads(mixed)]})
    for value in (mixed, nested.encode(), batch(16)):
        assert await put(agent, value) is None
    assert module.stock_metrics().undecodable._value.get() == skipped + 3
    assert key_to_stock_record[product_table_key(16)]["remaining"] == 5 and sent == []
