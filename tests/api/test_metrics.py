"""The API's request metrics: every answer counted under its route template and status,
whatever produced it (a handler, an ApiError, aiohttp's 404/405, a bug's 500)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from api.errors import ApiError, error_middleware, unavailable
from api.metrics import ApiMetrics, metrics_middleware

Client = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


async def answer(request: web.Request) -> web.Response:
    outcome = request.match_info["outcome"]
    if outcome == "limited":
        raise ApiError(429, "RATE_LIMITED", "slow down", headers={"Retry-After": "1"})
    if outcome == "kafka-down":
        raise unavailable("Kafka cannot take the request now; retry it")
    if outcome == "bug":
        raise RuntimeError("a bug")
    return web.json_response({"ok": True}, status=201)


@pytest.fixture
async def served(aiohttp_client: Client) -> AsyncIterator[tuple[TestClient[Any, Any], Any]]:
    registry = CollectorRegistry()
    metrics = ApiMetrics(registry)
    app = web.Application(middlewares=[metrics_middleware(metrics), error_middleware])
    app.router.add_post("/orders/{outcome}", answer)
    yield await aiohttp_client(app), registry


def _count(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("outcome", "status"), [("ok", 201), ("limited", 429), ("kafka-down", 503), ("bug", 500)]
)
async def test_each_answer_is_counted_under_its_route_and_status(
    served: tuple[TestClient[Any, Any], Any], outcome: str, status: int
) -> None:
    client, registry = served
    for _ in range(3):
        resp = await client.post(f"/orders/{outcome}")
        assert resp.status == status
    labels = {"route": "/orders/{outcome}", "method": "POST"}
    assert _count(registry, "flashsale_http_responses_total", **labels, status=str(status)) == 3
    timed = {**labels, "status_class": f"{status // 100}xx"}
    assert _count(registry, "flashsale_http_request_duration_seconds_count", **timed) == 3
    assert _count(registry, "flashsale_http_request_duration_seconds_sum", **timed) > 0


async def test_paths_no_route_matches_share_one_label(
    served: tuple[TestClient[Any, Any], Any],
) -> None:
    client, registry = served
    for path in ("/wp-admin", "/orders", "/x" * 50):
        assert (await client.get(path)).status == 404
    assert (await client.get("/orders/ok")).status == 405
    unmatched = {"route": "unmatched", "method": "unmatched"}
    assert _count(registry, "flashsale_http_responses_total", **unmatched, status="404") == 3
    assert _count(registry, "flashsale_http_responses_total", **unmatched, status="405") == 1


def test_process_metrics_are_on_the_apps_registry() -> None:
    registry = CollectorRegistry()
    ApiMetrics(registry)
    assert (registry.get_sample_value("process_cpu_seconds_total") or 0) > 0
    assert registry.get_sample_value("flashsale_kafka_produce_failures_total") == 0
