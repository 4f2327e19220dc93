"""``kill -9`` of the Faust worker at five points of a sale under load, restarted each time.

During intake, during payments, during expiry, right after a restock, and just
after the restarted worker finished its start-up recovery. The worker comes
back under the same name (a static group member takes its partitions back at
once) and rebuilds its table from the changelog; once quiet, the audit is clean.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
import pytest

from storage.mysql import Database
from streams.settings import Settings
from tests.faults.load import Buyers
from tests.faults.rig import SCARCE, Apis, Rig, Workers, audit_clean, open_sale, wait_ready
from tests.support.order_events import query, wait_until
from tests.support.stock_sale import worker_stock

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DECIDED_AFTER_RESTART = 150


async def _crash(rig: Rig, buyers: Buyers) -> int:
    """``kill -9`` the worker; the requests in flight at that instant."""
    in_flight = sum(buyers.in_flight.values())
    rig.workers["worker-1"].kill()
    return in_flight


async def _restart_and_finish(rig: Rig, buyers: Buyers, fault: str, in_flight: int) -> None:
    rig.worker()
    await buyers.until_decided(DECIDED_AFTER_RESTART)  # the restarted worker decides again
    await buyers.stop()
    await audit_clean(rig, buyers, fault, in_flight)


async def test_kill_during_intake(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig = await open_sale(settings_factory(), worker_factory, api_factory)
    buyers = rig.buyers()
    await buyers.until(acknowledged=300)
    in_flight = await _crash(rig, buyers)
    await _restart_and_finish(rig, buyers, "kill -9 worker during intake", in_flight)


async def _paying(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> tuple[Rig, Buyers]:
    """A sale with slow, sometimes declined charges, once ten payments are in flight."""
    settings = settings_factory(payment_latency_ms=300, payment_failure_rate=0.2)
    rig = await open_sale(settings, worker_factory, api_factory)
    buyers = rig.buyers(pay_share=0.8, cancel_share=0.1)
    await buyers.until(acknowledged=150)
    deadline = time.monotonic() + 30
    while buyers.in_flight["pay"] < 10:
        assert time.monotonic() < deadline, buyers.count("pay")
        await asyncio.sleep(0.01)
    return rig, buyers


async def test_kill_during_payments(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig, buyers = await _paying(settings_factory, worker_factory, api_factory)
    in_flight = await _crash(rig, buyers)
    await _restart_and_finish(rig, buyers, "kill -9 worker during payments", in_flight)


async def test_kill_the_saga_worker_during_payments(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    """The saga worker (payments, rows, order status, expiries) dies with charges in flight;
    restarted under its name, it replays them, and the gateway's ledger answers the replays."""
    rig, buyers = await _paying(settings_factory, worker_factory, api_factory)
    in_flight = sum(buyers.in_flight.values())
    assert rig.saga is not None
    rig.saga.kill()
    rig.restart_saga()
    await buyers.until_decided(DECIDED_AFTER_RESTART)
    await buyers.stop()
    await audit_clean(rig, buyers, "kill -9 saga worker during payments", in_flight)


async def test_kill_during_expiry(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig = await open_sale(settings_factory(hold_seconds=2), worker_factory, api_factory)
    buyers = rig.buyers(pay_share=0.0, cancel_share=0.0)
    db = Database(rig.settings.mysql_url)
    try:
        expired = "SELECT COUNT(*) AS n FROM orders WHERE status = 'EXPIRED'"
        seen = await wait_until(lambda: query(db, expired), lambda r: r[0]["n"] >= 30, within=60)
        assert seen[0]["n"] >= 30
        in_flight = await _crash(rig, buyers)
        rig.worker()
        await buyers.until_decided(DECIDED_AFTER_RESTART)
        await buyers.stop()
        # Every hold runs out now; the restarted worker's timer proposes the expiries.
        held = "SELECT COUNT(*) AS n FROM orders WHERE status IN ('PENDING', 'RESERVED')"
        left = await wait_until(lambda: query(db, held), lambda r: r[0]["n"] == 0, within=60)
        assert left[0]["n"] == 0
    finally:
        db.close()
    await audit_clean(rig, buyers, "kill -9 worker during expiry", in_flight)


async def _restock(rig: Rig, qty: int) -> None:
    url = f"{rig.base}/admin/products/{rig.products[0]}/restock"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"qty": qty}, headers=rig.admin.headers) as resp,
    ):
        assert resp.status == 202, await resp.text()


async def _sold_out_with(rig: Rig, stock: int, within: float = 90.0) -> None:
    """Until the worker holds ``stock`` units of the scarce product and none is left."""
    deadline = time.monotonic() + within
    port = rig.workers["worker-1"].web_port
    product: dict[str, int] = {}
    while time.monotonic() < deadline:
        found = [p for p in worker_stock(port) if p["product_id"] == rig.products[0]]
        product = found[0] if found else {}
        if product.get("stock") == stock and product.get("remaining") == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not sold out with {stock} units: {product}")


async def test_kill_during_restock(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig = await open_sale(settings_factory(), worker_factory, api_factory)
    # Everyone wants the scarce product: it sells out, then each restock is fought over.
    buyers = rig.buyers()
    buyers.products = rig.products[:1]
    await _sold_out_with(rig, SCARCE)
    await _restock(rig, 40)
    in_flight = await _crash(rig, buyers)
    rig.worker()
    await _restock(rig, 40)
    await _sold_out_with(rig, SCARCE + 80)
    await buyers.stop()
    await audit_clean(rig, buyers, "kill -9 worker during a restock", in_flight)


async def test_kill_just_after_start_up_recovery(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    rig = await open_sale(settings_factory(), worker_factory, api_factory)
    buyers = rig.buyers()
    await buyers.until(acknowledged=300)
    await _crash(rig, buyers)
    restarted = rig.worker(wait=False)
    await wait_ready(restarted, runs=2)  # the log holds both runs: the first and this one
    in_flight = await _crash(rig, buyers)
    await _restart_and_finish(rig, buyers, "kill -9 worker just after recovery", in_flight)
