"""The payment agent in real workers: concurrent charges, one per order, none twice.

The tests play the stock agent: they put PaymentRequested / RefundRequested
events on ``order-events`` and read what the payment agent answers on
``payment-events`` and ``stock-commands``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from agents.payment_gateway import declines
from agents.payment_requests import payment_id
from kit.processes import ManagedProcess
from storage.mysql import Database
from streams.records import command_entries
from streams.settings import Settings
from streams.topics import PAYMENT_EVENTS, STOCK_COMMANDS
from tests.support.order_events import (
    order_event,
    produce_order_events,
    query,
    read_values,
    wait_until,
)

pytestmark = pytest.mark.integration

FAILURE_RATE = 0.2


@pytest.fixture
async def db(fresh_settings: Settings) -> AsyncIterator[Database]:
    database = Database(fresh_settings.mysql_url)
    yield database
    database.close()


def _orders(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def _requests(order_ids: list[str], name: str = "PaymentRequested") -> list[dict[str, Any]]:
    now = time.time()
    return [order_event(oid, "RESERVED", now, 1.0, event=name) for oid in order_ids]


async def _ledger_count(db: Database, operation: str = "CHARGE") -> int:
    rows = await query(
        db, "SELECT COUNT(*) AS n FROM gateway_ledger WHERE operation = %s", operation
    )
    return int(rows[0]["n"])


async def _answers(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(payment events, SettlePayment commands) sent so far."""
    events = await read_values(settings, PAYMENT_EVENTS.name(settings))
    commands = await read_values(settings, STOCK_COMMANDS.name(settings))
    entries = [entry for value in commands for entry in command_entries(value)]
    return events, [c for c in entries if c.get("kind") == "SettlePayment"]


async def _warm_up(settings: Settings) -> None:
    """One charge end to end, so the worker owns its partitions before the measured run."""
    await produce_order_events(settings, _requests(_orders(1)))
    answers = await wait_until(lambda: _answers(settings), lambda a: len(a[1]) == 1, within=60)
    assert len(answers[1]) == 1, "the worker never answered the warm-up charge"


async def test_charges_run_concurrently_once_per_order(
    settings_factory: Callable[..., Settings],
    worker_factory: Callable[..., ManagedProcess],
    db: Database,
) -> None:
    settings = settings_factory(payment_failure_rate=FAILURE_RATE, payment_latency_ms=50)
    worker_factory(settings, name="saga-1", role="saga")
    await _warm_up(settings)
    orders = _orders(200)
    produced_at = time.time()
    await produce_order_events(settings, _requests(orders))

    def complete(answers: tuple[list[Any], list[Any]]) -> bool:
        return len(answers[0]) >= 201 and len(answers[1]) >= 201

    events, commands = await wait_until(lambda: _answers(settings), complete, within=60)
    events = [e for e in events if e["order_id"] in set(orders)]
    commands = [c for c in commands if c["order_id"] in set(orders)]
    assert Counter(e["order_id"] for e in events) == Counter(orders)
    assert Counter(c["order_id"] for c in commands) == Counter(orders)

    declined = {oid for oid in orders if declines(oid, FAILURE_RATE)}
    assert {e["order_id"] for e in events if e["event"] == "PaymentFailed"} == declined
    assert {c["order_id"] for c in commands if not c["succeeded"]} == declined
    assert all(e["payment_id"] == payment_id(e["order_id"], "CHARGE") for e in events)
    assert await _ledger_count(db) == 201

    # The gateway's own clock says when the last of the 200 charges was decided.
    took = max(e["at"] for e in events) - produced_at
    print(f"\n200 charges at 50 ms each: {took:.2f} s; declined {len(declined)} / 200")
    assert took < 200 * 0.050, "charges ran one after another"

    payments = await wait_until(
        lambda: query(db, "SELECT order_id, status FROM payments"), lambda r: len(r) == 201, 30
    )
    failed = {r["order_id"] for r in payments if r["status"] == "FAILED"} & set(orders)
    assert failed == declined


async def test_refunds_and_replayed_requests_never_charge_twice(
    settings_factory: Callable[..., Settings],
    worker_factory: Callable[..., ManagedProcess],
    db: Database,
) -> None:
    settings = settings_factory(payment_failure_rate=FAILURE_RATE)
    worker_factory(settings, name="saga-1", role="saga")
    orders = _orders(40)
    await produce_order_events(settings, _requests(orders))
    await wait_until(lambda: _ledger_count(db), lambda n: n == 40, within=60)
    # Refund 20 (declined ones included) and ask again to charge 10 of them.
    await produce_order_events(
        settings, _requests(orders[:20], "RefundRequested") + _requests(orders[:10])
    )
    # 40 charges, 20 refunds, 10 repeated charges: one answer each.
    events, commands = await wait_until(
        lambda: _answers(settings), lambda a: min(map(len, a)) >= 70, within=60
    )
    assert (len(events), len(commands)) == (70, 70)

    outcomes: dict[tuple[str, str], set[tuple[str, str, float]]] = defaultdict(set)
    for e in events:
        outcomes[(e["order_id"], e["operation"])].add((e["payment_id"], e["status"], e["at"]))
    # A replayed request gets exactly the first answer, and refunds follow charges.
    assert all(len(answers) == 1 for answers in outcomes.values())
    for oid in orders[:20]:
        ((_, charge, _),) = outcomes[(oid, "CHARGE")]
        ((_, refund, _),) = outcomes[(oid, "REFUND")]
        assert refund == charge == ("FAILED" if declines(oid, FAILURE_RATE) else "SUCCEEDED")
    assert await _ledger_count(db) == 40
    assert await _ledger_count(db, "REFUND") == 20


async def test_kill_9_during_payments_settles_every_request_without_double_charge(
    settings_factory: Callable[..., Settings],
    worker_factory: Callable[..., ManagedProcess],
    db: Database,
) -> None:
    settings = settings_factory(payment_failure_rate=FAILURE_RATE, payment_latency_ms=200)
    first = worker_factory(settings, name="saga-1", role="saga")
    await _warm_up(settings)
    orders = _orders(600)
    # In waves, so that charges are in flight and answers half sent when the kill comes.
    for wave in range(6):
        await produce_order_events(settings, _requests(orders[wave * 100 : (wave + 1) * 100]))
        await asyncio.sleep(0.1)
    await wait_until(lambda: _ledger_count(db), lambda n: n >= 150, within=60)
    first.kill()
    charged_before_kill = await _ledger_count(db)

    worker_factory(settings, name="saga-2", role="saga")
    wanted = set(orders)

    def settled(answers: tuple[list[Any], list[Any]]) -> bool:
        events, commands = answers
        return wanted <= {c["order_id"] for c in commands} & {e["order_id"] for e in events}

    events, commands = await wait_until(lambda: _answers(settings), settled, within=120)
    assert wanted <= {c["order_id"] for c in commands}, "some requests were never settled"
    assert wanted <= {e["order_id"] for e in events}
    answers: dict[str, set[tuple[str, bool, float]]] = defaultdict(set)
    for c in commands:
        answers[c["order_id"]].add((c["payment_id"], c["succeeded"], c["at"]))
    assert all(len(a) == 1 for a in answers.values()), "a replay changed an outcome"

    rows = await query(
        db,
        "SELECT order_id, COUNT(*) AS n FROM gateway_ledger WHERE operation = 'CHARGE' GROUP BY 1",
    )
    assert {r["order_id"] for r in rows} == wanted | {c["order_id"] for c in commands}
    assert all(r["n"] == 1 for r in rows)
    print(
        f"\ncharged before kill -9: {charged_before_kill}/601;"
        f" SettlePayment sent {len(commands)} for {len(answers)} orders"
    )
