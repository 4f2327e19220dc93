"""The API's Prometheus metrics, defined once, on the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
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
