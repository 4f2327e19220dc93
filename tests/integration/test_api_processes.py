"""Several API processes on one port (``FLASHSALE_API_PROCESSES``), started as ``make up``
starts them (``ops.stack``, in a run directory of the test's own, on free ports).

Each process waits for its own decisions, whichever process the kernel hands a
connection; one ``Idempotency-Key`` makes one order through any of them; the rate limit
is one allowance across them (it lives in Redis); each process's metrics, on its own
port, add up to what the buyers were told; pid files follow the contract, and ``up``
restarts just a killed API process; a burst of new connections is queued whole.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import signal
import socket
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kit.processes import ManagedProcess, free_port, free_port_run
from kit.sale import Member, list_product, seed_members
from ops import processes, readiness, stack
from streams.settings import Settings
from tests.support.sale import Answer, post_orders

pytestmark = pytest.mark.integration

PROCESSES = 2
Apis = Callable[..., Settings]


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``make up``'s ``.run/`` for this test alone."""
    path = tmp_path / "run"
    path.mkdir()
    monkeypatch.setattr(processes, "RUN_DIR", path)
    return path


@pytest.fixture
def api_processes(run_dir: Path) -> Iterator[Apis]:
    """Start ``count`` API processes as ``make up`` does; their settings (shared port in
    ``api_port``, process N's own port ``api_own_port(N)``). Stopped after the test."""
    started: list[Settings] = []

    def start(settings: Settings, count: int = PROCESSES, **changes: Any) -> Settings:
        settings = dataclasses.replace(
            settings,
            api_port=free_port(),
            api_metrics_port=free_port_run(count),
            api_processes=count,
            **changes,
        )
        started.append(settings)
        names = stack.start_missing(settings, stack.api_specs(settings))
        assert names == [stack.api_name(n) for n in range(1, count + 1)]
        return settings

    yield start
    for settings in started:
        stack.down(settings, names=[s.name for s in stack.known_api_specs(settings)])


def _own_urls(settings: Settings) -> list[str]:
    return list(stack.api_urls(settings).values())


def _counter(url: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples matching ``labels`` in one process's /metrics."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def _answers(url: str, **labels: str) -> float:
    return _counter(url, "flashsale_http_responses_total", route="/orders", **labels)


async def _post_orders(
    base: str, orders: list[tuple[Member, int]], headers: dict[str, str]
) -> list[Answer]:
    """Each order on a connection of its own: the kernel picks a process for each."""
    return await post_orders(base, orders, 64, headers, connection_each=True)


def test_make_up_names_each_api_process_and_restarts_only_a_killed_one(
    fresh_settings: Settings, api_processes: Apis, run_dir: Path
) -> None:
    settings = api_processes(fresh_settings, count=3)
    names = ["api", "api-2", "api-3"]
    assert {p.name for p in run_dir.glob("api*.pid")} == {f"{n}.pid" for n in names}
    assert all((run_dir / f"{n}.log").exists() for n in names)
    pids = {s.name: processes.running_pid(s.name, s.marker) for s in stack.api_specs(settings)}
    assert None not in pids.values() and len(set(pids.values())) == 3
    # Health on every process's own port, and on the shared one.
    for url in _own_urls(settings):
        assert readiness.api_ready(url), url
    assert readiness.api_ready(f"http://127.0.0.1:{settings.api_port}")

    os.kill(pids["api-2"], signal.SIGKILL)
    processes.wait_gone(pids["api-2"], timeout=10)
    assert stack.start_missing(settings, stack.api_specs(settings)) == ["api-2"]
    after = {s.name: processes.running_pid(s.name, s.marker) for s in stack.api_specs(settings)}
    assert after["api"] == pids["api"] and after["api-3"] == pids["api-3"]
    assert after["api-2"] not in (None, pids["api-2"])
    assert all(readiness.api_ready(url) for url in _own_urls(settings))
    assert stack.start_missing(settings, stack.api_specs(settings)) == []  # idempotent

    stack.down(settings, names=names)
    assert not list(run_dir.glob("api*.pid"))
    assert not processes.port_open(settings.api_port)


async def test_each_process_gets_its_own_decisions(
    fresh_settings: Settings, worker_factory: Callable[..., ManagedProcess], api_processes: Apis
) -> None:
    worker_factory(fresh_settings)
    settings = api_processes(fresh_settings)
    base = f"http://127.0.0.1:{settings.api_port}"
    admin, *_ = seed_members(settings, 1, role="admin")
    buyers = seed_members(settings, 240)
    products = [(await list_product(base, admin, stock=50))["product_id"] for _ in range(4)]
    # 60 buyers for each product's 50 units: 200 reservations, 40 refusals.
    orders = [(member, products[i % 4]) for i, member in enumerate(buyers)]

    answers = await _post_orders(base, orders, {"Prefer": "wait=10"})

    statuses = Counter(status for status, _ in answers)
    # No 202: no process ran out of time waiting for an event another one read.
    assert statuses == {201: 200, 409: 40}, statuses
    reserved = Counter(
        pid for (status, _), (_, pid) in zip(answers, orders, strict=True) if status == 201
    )
    assert reserved == {pid: 50 for pid in products}
    assert {body["reason"] for status, body in answers if status == 409} == {"SOLD_OUT"}
    # Each process waited for decisions of its own, and the processes' counts add up.
    own = _own_urls(settings)
    decided = [
        _counter(url, "flashsale_decision_duration_seconds_count", command="ReserveOrder")
        for url in own
    ]
    assert all(n > 0 for n in decided), decided
    assert sum(_answers(url, method="POST", status="201") for url in own) == 200
    assert sum(_answers(url, method="POST", status="409") for url in own) == 40
    assert sum(_counter(url, "flashsale_decision_waits_expired_total") for url in own) == 0


async def test_one_idempotency_key_is_one_order_through_any_process(
    fresh_settings: Settings, worker_factory: Callable[..., ManagedProcess], api_processes: Apis
) -> None:
    worker_factory(fresh_settings)
    settings = api_processes(fresh_settings)
    base = f"http://127.0.0.1:{settings.api_port}"
    admin, buyer = seed_members(settings, 1, role="admin") + seed_members(settings, 1)
    # A limit of 5: a second order of the member's would be reserved, not refused.
    product = (await list_product(base, admin, stock=10, per_user_limit=5))["product_id"]
    headers = {"Idempotency-Key": "one-order-please", "Prefer": "wait=10"}

    # 16 at once, each on its own connection: all but 2 in 2^16 runs reach both processes.
    answers = await _post_orders(base, [(buyer, product)] * 16, headers)

    assert {status for status, _ in answers} == {201}
    assert len({body["order_id"] for _, body in answers}) == 1
    served = [_answers(url, method="POST") for url in _own_urls(settings)]
    assert all(n > 0 for n in served) and sum(served) == 16, served
    # The stock projection (Redis) and MySQL (the saga worker's rows) catch up.
    remaining = await _eventually(base, f"/products/{product}", lambda b: b["remaining"] < 10)
    assert remaining["remaining"] == 9
    mine = await _eventually(base, "/me/orders", lambda b: b["orders"], buyer.headers)
    assert [o["order_id"] for o in mine["orders"]] == [answers[0][1]["order_id"]]


async def _eventually(
    base: str, path: str, done: Callable[[Any], Any], headers: dict[str, str] | None = None
) -> Any:
    """GET ``path`` until ``done(body)`` is true (at most 30 s); the last body."""
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession(headers=headers) as http:
        while True:
            async with http.get(f"{base}{path}") as resp:
                body = await resp.json()
            if done(body) or time.monotonic() > deadline:
                return body
            await asyncio.sleep(0.1)


async def test_the_rate_limit_is_one_allowance_across_processes(
    fresh_settings: Settings, api_processes: Apis
) -> None:
    # No worker needed: orders without Prefer: wait are answered once Kafka has them.
    limit = 4
    settings = api_processes(fresh_settings, rate_limit=limit)
    base = f"http://127.0.0.1:{settings.api_port}"
    admin, buyer = seed_members(settings, 1, role="admin") + seed_members(settings, 1)
    product = (await list_product(base, admin, stock=100))["product_id"]

    for _ in range(3):
        # 40 orders at once from one member, early in a one-second window.
        await asyncio.sleep(1.05 - time.time() % 1)
        began = time.time()
        answers = await _post_orders(base, [(buyer, product)] * 40, {})
        if int(time.time()) == int(began):
            break  # the burst stayed within one window
    else:
        pytest.skip("the machine is too slow to send 40 orders within one second")

    statuses = Counter(status for status, _ in answers)
    # One shared counter: a limit kept per process would have let 2 x 4 through.
    assert statuses == {202: limit, 429: 40 - limit}, statuses
    # Each process took more requests than the limit, so each alone would have let
    # `limit` through.
    served = [_answers(url, method="POST") for url in _own_urls(settings)]
    assert all(n > limit for n in served), served


# Several times aiohttp's default backlog (128) per process, and few enough for a
# default limit of 1,024 open files in each API process.
BURST = 2 * 450


def _listen_overflows() -> int:
    """The kernel's count of connections a full accept queue dropped (every socket)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=True):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    raise AssertionError("no TcpExt line in /proc/net/netstat")


def test_a_burst_of_new_connections_is_queued_whole(
    fresh_settings: Settings, api_processes: Apis
) -> None:
    """A flash sale's buyers connect in the same instant. A connection the accept queue
    drops waits for its client's SYN retry, a second later (api/listen_backlog.py)."""
    settings = api_processes(fresh_settings)
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    # This process holds every socket of the burst (the API processes keep their own limit).
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (max(limits[0], min(BURST + 256, limits[1])), limits[1])
    )
    before = _listen_overflows()
    sockets = []
    try:
        # As fast as the kernel takes them: non-blocking connects, no handshake awaited.
        for _ in range(BURST):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", settings.api_port))
            sockets.append(sock)
        time.sleep(0.5)  # the handshakes and the processes' accepts
        dropped = _listen_overflows() - before
    finally:
        for sock in sockets:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)
    assert dropped == 0, f"{dropped} of {BURST} connections dropped by a full accept queue"
