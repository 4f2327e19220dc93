"""The gateway's ledger on a real MariaDB: first call decides, retries read it back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from agents.payment_gateway import CHARGE, FAILED, REFUND, SUCCEEDED, PaymentGateway, declines
from storage.mysql import Cursor, Database
from streams.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(fresh_settings: Settings) -> AsyncIterator[Database]:
    database = Database(fresh_settings.mysql_url)
    yield database
    database.close()


async def _ledger(db: Database) -> list[tuple[str, str, str, int]]:
    def read(cur: Cursor) -> list[tuple[str, str, str, int]]:
        cur.execute("SELECT order_id, operation, status, amount FROM gateway_ledger ORDER BY 1, 2")
        return [(r["order_id"], r["operation"], r["status"], int(r["amount"])) for r in cur]

    return await db.run(read)


async def test_a_repeated_or_concurrent_charge_is_recorded_once(db: Database) -> None:
    clock = iter(range(100, 200))
    gateway = PaymentGateway(db, failure_rate=0.0, latency_ms=0, clock=lambda: float(next(clock)))
    results = await asyncio.gather(*(gateway.call(CHARGE, "o-1", 5000) for _ in range(5)))
    assert {(r.status, r.amount, r.decided_at) for r in results} == {
        (SUCCEEDED, 5000, results[0].decided_at)
    }
    # A retry with another amount still gets the recorded answer.
    again = await gateway.call(CHARGE, "o-1", 1)
    assert (again.status, again.amount, again.decided_at) == (
        SUCCEEDED,
        5000,
        results[0].decided_at,
    )
    assert await _ledger(db) == [("o-1", CHARGE, SUCCEEDED, 5000)]


async def test_declines_follow_the_decision_and_stick(db: Database) -> None:
    declining = PaymentGateway(db, failure_rate=1.0, latency_ms=0)
    generous = PaymentGateway(db, failure_rate=0.0, latency_ms=0)
    assert (await declining.call(CHARGE, "o-2", 700)).status == FAILED
    # The ledger, not a new draw, answers the retry.
    assert (await generous.call(CHARGE, "o-2", 700)).status == FAILED
    ids = [f"order-{i}" for i in range(40)]
    rate = PaymentGateway(db, failure_rate=0.5, latency_ms=0)
    results = await asyncio.gather(*(rate.call(CHARGE, i, 1) for i in ids))
    assert [r.status == FAILED for r in results] == [declines(i, 0.5) for i in ids]


async def test_refunds_only_a_succeeded_charge_and_only_once(db: Database) -> None:
    gateway = PaymentGateway(db, failure_rate=0.0, latency_ms=0)
    await gateway.call(CHARGE, "paid", 900)
    first = await gateway.call(REFUND, "paid", 900)
    second = await gateway.call(REFUND, "paid", 900)
    assert (first.status, first.amount) == (SUCCEEDED, 900)
    assert second == first
    await PaymentGateway(db, failure_rate=1.0, latency_ms=0).call(CHARGE, "declined", 900)
    assert (await gateway.call(REFUND, "declined", 900)).status == FAILED
    assert (await gateway.call(REFUND, "never-charged", 900)).status == FAILED
    assert await _ledger(db) == [
        ("declined", CHARGE, FAILED, 900),
        ("declined", REFUND, FAILED, 900),
        ("never-charged", REFUND, FAILED, 900),
        ("paid", CHARGE, SUCCEEDED, 900),
        ("paid", REFUND, SUCCEEDED, 900),
    ]


async def test_a_batch_answers_as_one_call_each_would(db: Database) -> None:
    declining = PaymentGateway(db, failure_rate=1.0, latency_ms=0)
    gateway = PaymentGateway(db, failure_rate=0.5, latency_ms=0)
    earlier = await declining.call(CHARGE, "decided-before", 300)
    ids = [f"batch-{i}" for i in range(30)]
    charges = await gateway.call_many(CHARGE, [(i, 100) for i in [*ids, "decided-before"]])
    assert charges["decided-before"] == earlier, "the ledger, not a new draw, answers"
    assert [charges[i].status == FAILED for i in ids] == [declines(i, 0.5) for i in ids]
    # Replayed concurrently with single calls: the same answers, nothing recorded twice.
    again = await asyncio.gather(
        gateway.call_many(CHARGE, [(i, 1) for i in ids]), *(gateway.call(CHARGE, i, 2) for i in ids)
    )
    assert again[0] == {i: charges[i] for i in ids}
    assert list(again[1:]) == [charges[i] for i in ids]
    refunds = await gateway.call_many(REFUND, [(i, 100) for i in [*ids, "never-charged"]])
    assert {i: r.status for i, r in refunds.items()} == {
        **{i: charges[i].status for i in ids},
        "never-charged": FAILED,
    }
    assert len(await _ledger(db)) == 1 + 2 * len(ids) + 1
