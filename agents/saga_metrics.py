"""The saga worker's Prometheus metrics, defined once, on a registry of its own."""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter


class SagaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.followed = Counter(
            "flashsale_saga_order_events",
            "Order events projected to Redis, written to MySQL and paid for, by the saga worker",
            registry=registry,
        )


@functools.cache
def saga_metrics() -> SagaMetrics:
    return SagaMetrics(CollectorRegistry())
