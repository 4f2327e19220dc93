"""The API's Prometheus metrics, defined once, on the app's own registry.

Every metric is listed in docs/metrics.md. Label values are bounded: a route is
aiohttp's route template (``/orders/{order_id}``), never a path with an id in it,
and a status is an HTTP status code. The per-request cost is one histogram and
one counter update (a few microseconds).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import CollectorRegistry, Counter, Histogram

from api.errors import Handler
from streams.metrics import LATENCY_BUCKETS, add_process_collectors

# Paths no route matches (scanners, typos) share one label value.
UNMATCHED = "unmatched"


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        add_process_collectors(registry)
        # Each (route, method, status)'s two series, looked up once: .labels() costs
        # a lock and a few microseconds, paid on every request otherwise.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.orders_accepted = Counter(
            "flashsale_orders_accepted",
            "Order commands acknowledged by Kafka (answered 202/201/409 with an order_id)",
            registry=registry,
        )
        self.fast_path_refusals = Counter(
            "flashsale_orders_fast_path_refused",
            "Orders refused SOLD_OUT from the stock projection, without reaching Kafka",
            registry=registry,
        )
        self.hold_seconds = Histogram(
            "flashsale_order_hold_duration_seconds",
            "Time an order waited before intake because this API process's orders in flight"
            " already covered its share of the product's units left (held orders only)",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.request_seconds = Histogram(
            "flashsale_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route, method and status class",
            ["route", "method", "status_class"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.responses = Counter(
            "flashsale_http_responses",
            "Answers by route, method and HTTP status code (e.g. 201, 409, 429, 503)",
            ["route", "method", "status"],
            registry=registry,
        )
        self.produce_seconds = Histogram(
            "flashsale_kafka_produce_duration_seconds",
            "Time for Kafka to acknowledge (acks=all) one command the API produced",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.produce_failures = Counter(
            "flashsale_kafka_produce_failures",
            "Commands Kafka did not acknowledge in time (answered 503)",
            registry=registry,
        )
        self.decision_seconds = Histogram(
            "flashsale_decision_duration_seconds",
            "Time from producing a command to this API seeing its outcome event, for"
            " requests with Prefer: wait, by command (ReserveOrder: time to decision)",
            ["command"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

        self.decision_waits_expired = Counter(
            "flashsale_decision_waits_expired",
            "Requests with Prefer: wait whose outcome did not come in time (answered 202)",
            ["command"],
            registry=registry,
        )

    def produced(self, seconds: float, ok: bool) -> None:
        if ok:
            self.produce_seconds.observe(seconds)
        else:
            self.produce_failures.inc()

    def answered(self, request: web.Request, status: int, seconds: float) -> None:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else UNMATCHED
        method = request.method if resource is not None else UNMATCHED
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.request_seconds.labels(route, method, f"{status // 100}xx"),
                self.responses.labels(route, method, str(status)),
            )
        children[0].observe(seconds)
        children[1].inc()


def metrics_middleware(metrics: ApiMetrics) -> Middleware:
    """Time every answer; outermost, so it sees the status the error middleware chose."""

    @web.middleware
    async def measure(request: web.Request, handler: Handler) -> web.StreamResponse:
        began = time.perf_counter()
        status = 500  # an exception that escaped every handler becomes aiohttp's 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            metrics.answered(request, status, time.perf_counter() - began)

    return measure
