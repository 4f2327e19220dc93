"""A small sale watched by a real Prometheus: the series an operator needs exist and
agree with what the buyers were told, the rules load, and every panel of the Grafana
dashboard (ops/grafana/dashboards/flashsale.json) returns data.

One sale for the module (about 20 s): a stock worker, the saga worker and two API
processes on one port (each scraped on its own port, as ``make up`` runs them), scraped
every second; the API's figures are sums over its processes. Buyers come in waves of
16, a second apart; whoever gets a unit in the first two waves pays (30% of charges are
declined); one member floods the API in the first wave to be rate-limited.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from kit.processes import (
    ManagedProcess,
    api_process,
    free_port,
    free_port_run,
    wait_http_ok,
    worker_process,
)
from kit.sale import Member, list_product, seed_members
from ops.monitoring import Target
from ops.stack import API_JOB, api_name
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, PAYMENT_EVENTS, STOCK_COMMANDS, reader_groups
from tests.conftest import fresh_namespace
from tests.support.checkout import order, pay
from tests.support.prometheus import ROOT, api_get, eventually, finite, query, start_prometheus

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "flashsale.json"
STOCK = 20
WAVES, PER_WAVE = 5, 16
# Buyers of the first waves pay (declined charges put units back on sale); later ones
# only hold, so the product stays sold out and the last waves meet the API's fast path.
PAYING_WAVES = 2
# The limiter counts per wall-clock second, so a flood that straddles a second's edge
# can pass one just above the limit: this one is six seconds' worth at once, and it
# comes in the first wave, while the product is on sale (a sold-out product is refused
# before the limiter counts).
RATE_LIMIT = 5
FLOOD = 6 * RATE_LIMIT
API_PROCESSES = 2
# Grafana's rate window; any window that covers the sale does here.
RATE_INTERVAL = "2m"


@dataclass(frozen=True)
class WatchedSale:
    settings: Settings
    prometheus: str
    product_id: int
    answers: Counter[tuple[str, int]]  # (what, HTTP status) -> how many
    accepted: int  # orders answered with an order id (Kafka has them)


@pytest.fixture(scope="module")
def sale(
    base_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WatchedSale]:
    workdir = tmp_path_factory.mktemp("observability")
    with fresh_namespace(base_settings, workdir) as fresh:
        settings = dataclasses.replace(fresh, payment_failure_rate=0.3, rate_limit=RATE_LIMIT)
        procs: list[ManagedProcess] = []
        try:
            targets = _start_pipeline(settings, workdir, procs)
            prometheus, base = start_prometheus(targets, workdir)
            procs.append(prometheus)
            # Rates need a sample from before the sale: every process scraped once.
            eventually(lambda: _all_up(base, len(targets)), timeout=20)
            yield asyncio.run(_run_sale(settings, base))
        finally:
            for proc in reversed(procs):
                proc.stop()


def _start_pipeline(settings: Settings, workdir: Path, procs: list[ManagedProcess]) -> list[Target]:
    """The saga worker, a stock worker and two API processes, as ``make up`` starts them."""
    targets, ready_urls = [], []
    for name, role, job in (
        ("saga-1", "saga", "flashsale-saga"),
        ("worker-1", "stock", "flashsale-worker"),
    ):
        named = dataclasses.replace(settings, worker_id=name, worker_role=role)
        proc = worker_process(named, workdir / f"{name}.data", workdir, name, free_port()).start()
        procs.append(proc)
        targets.append(Target(job, name, proc.web_port))
        ready_urls.append(f"http://127.0.0.1:{proc.web_port}/ready/")
    first_own_port = free_port_run(API_PROCESSES)
    for number in range(1, API_PROCESSES + 1):
        numbered = dataclasses.replace(
            settings, api_process=number, api_metrics_port=first_own_port
        )
        name = api_name(number)
        procs.append(api_process(numbered, workdir, name).start())
        own_port = numbered.api_own_port()
        assert own_port is not None
        targets.append(Target(API_JOB, name, own_port))
        ready_urls.append(f"http://127.0.0.1:{own_port}/healthz")
    # All start at once, then each is waited for.
    for proc, url in zip(procs, ready_urls, strict=True):
        wait_http_ok(url, proc)
    return targets


async def _run_sale(settings: Settings, prometheus: str) -> WatchedSale:
    base = f"http://127.0.0.1:{settings.api_port}"
    admin, *_ = seed_members(settings, 1, role="admin")
    buyers = seed_members(settings, WAVES * PER_WAVE + 1)
    flooder = buyers.pop()
    product = (await list_product(base, admin, stock=STOCK))["product_id"]
    answers: Counter[tuple[str, int]] = Counter()
    accepted = 0

    async def buy(http: aiohttp.ClientSession, member: Member, pays: bool, wait: float = 5) -> None:
        nonlocal accepted
        status, body = await order(http, base, member, product, wait=wait)
        answers["order", status] += 1
        accepted += bool(body.get("order_id"))
        if status == 201 and pays:
            paid, _ = await pay(http, base, member, body["order_id"])
            answers["pay", paid] += 1

    async with aiohttp.ClientSession() as http:
        for wave in range(WAVES):
            group = buyers[wave * PER_WAVE : (wave + 1) * PER_WAVE]
            flood = [buy(http, flooder, False, wait=0) for _ in range(FLOOD)] if wave == 0 else []
            pays = wave < PAYING_WAVES
            await asyncio.gather(*(buy(http, m, pays) for m in group), *flood)
            await asyncio.sleep(1.0)
    return WatchedSale(settings, prometheus, product, answers, accepted)


def _all_up(prometheus: str, count: int) -> None:
    assert len(query(prometheus, 'up{job=~"flashsale-.*"} == 1')) == count


def _value(sale: WatchedSale, expr: str) -> float:
    samples = finite(query(sale.prometheus, expr))
    assert len(samples) == 1, (expr, samples)
    return samples[0]


def _panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"].replace("$__rate_interval", RATE_INTERVAL))
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def test_every_dashboard_panel_returns_data_during_a_sale(sale: WatchedSale) -> None:
    queries = _panel_queries()
    assert len(queries) >= 20

    def every_panel_has_data() -> None:
        empty = [
            (title, expr) for title, expr in queries if not finite(query(sale.prometheus, expr))
        ]
        assert empty == [], f"panels without data: {empty}"

    eventually(every_panel_has_data, timeout=20)


def test_prometheus_sees_what_the_buyers_were_told(sale: WatchedSale) -> None:
    answers = sale.answers
    assert answers["order", 201] > 0 and answers["order", 429] > 0 and answers["pay", 200] > 0

    def counters_agree() -> None:
        for (what, status), count in answers.items():
            route = "/orders" if what == "order" else "/orders/{order_id}/pay"
            selector = f'route="{route}",method="POST",status="{status}"'
            assert _value(sale, f"sum(flashsale_http_responses_total{{{selector}}})") == count
        assert _value(sale, "sum(flashsale_orders_accepted_total)") == sale.accepted
        paid = answers["pay", 200]
        assert (
            _value(sale, f'flashsale_product_sold_units{{product_id="{sale.product_id}"}}') == paid
        )
        assert (
            _value(sale, 'sum(flashsale_payments_total{operation="CHARGE",status="SUCCEEDED"})')
            == paid
        )
        # The later waves' and the flooder's reservations hold units nobody pays for.
        held = _value(sale, "sum(flashsale_product_held_units)")
        assert _value(sale, "sum(flashsale_product_remaining_units)") + held == STOCK - paid

    eventually(counters_agree, timeout=30)


def test_every_process_exports_what_the_operator_needs(sale: WatchedSale) -> None:
    settings = sale.settings
    stock, saga = settings.consumer_group("stock"), settings.consumer_group("saga")
    lag = "flashsale_consumer_lag_messages"
    commands, events = STOCK_COMMANDS.name(settings), ORDER_EVENTS.name(settings)
    payments = PAYMENT_EVENTS.name(settings)
    # order-events is read by the saga's batch reader, in a group of its own.
    follower = reader_groups(settings)[events]
    required = {
        'up{process="api"} == 1': 1,
        'up{process="api-2"} == 1': 1,
        'up{process="worker-1"} == 1': 1,
        'up{process="saga-1"} == 1': 1,
        'process_resident_memory_bytes{job=~"flashsale-.*"}': 4,
        'sum(flashsale_http_request_duration_seconds_count{route="/orders",status_class="2xx"})': 1,
        'sum(flashsale_http_request_duration_seconds_count{route="/orders",status_class="4xx"})': 1,
        'sum(flashsale_decision_duration_seconds_count{command="ReserveOrder"}) > 0': 1,
        'sum(flashsale_decision_duration_seconds_count{command="PayOrder"}) > 0': 1,
        "sum(flashsale_kafka_produce_duration_seconds_count) > 0": 1,
        "sum(flashsale_orders_fast_path_refused_total) > 0": 1,
        # Both API processes took requests (the kernel spreads the connections).
        'sum by (process) (flashsale_http_responses_total{route="/orders"}) > 0': 2,
        f'{lag}{{group="{stock}",topic="{commands}"}}': 4,
        f'{lag}{{group="{follower}",topic="{events}"}}': 4,
        f'{lag}{{group="{saga}",topic="{payments}"}}': 4,
        "flashsale_worker_rebalances_total >= 1": 2,
        "flashsale_worker_rebalance_duration_seconds_count >= 1": 2,
        'flashsale_stock_commands_total{outcome="RESERVED"} > 0': 1,
        "flashsale_stock_command_delay_seconds_count > 0": 1,
        'flashsale_payments_total{operation="CHARGE",status="FAILED"} > 0': 1,
        "flashsale_persistence_rows_total > 0": 2,
        "flashsale_persistence_delay_seconds_count > 0": 2,
        "flashsale_mysql_retries_total": 4,
        "flashsale_order_projection_batches_total > 0": 1,
        "flashsale_stock_projection_flushes_total": 2,
        "flashsale:orders_accepted:rate1m > 0": 1,
    }

    def every_series_is_there() -> None:
        found = {expr: len(query(sale.prometheus, expr)) for expr in required}
        assert found == required

    eventually(every_series_is_there, timeout=20)
    rules = [r for g in api_get(sale.prometheus, "/api/v1/rules")["groups"] for r in g["rules"]]
    assert len(rules) >= 12
    assert [r["name"] for r in rules if r["health"] != "ok"] == []
