"""The saga worker's Prometheus metrics, defined once, on the worker's registry
(agents/worker_metrics.py serves it at ``GET /metrics``; docs/metrics.md lists them)."""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter, Histogram

from agents.worker_metrics import worker_registry
from streams.metrics import DELAY_BUCKETS

# The MySQL tables the saga worker writes (agents/persist_orders.py, persist_payments.py).
TABLES = ("orders", "payments")


class SagaMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.followed = Counter(
            "flashsale_saga_order_events",
            "Order events projected to Redis, written to MySQL and paid for, by the saga worker",
            registry=registry,
        )
        self.payments = Counter(
            "flashsale_payments",
            "Answers of the payment gateway, by operation (CHARGE, REFUND) and status"
            " (SUCCEEDED, FAILED: a declined charge, or a refund of nothing charged)",
            ["operation", "status"],
            registry=registry,
        )
        self.persisted_batches = Counter(
            "flashsale_persistence_batches",
            "Batches of events written to a MySQL table (orders, payments)",
            ["table"],
            registry=registry,
        )
        self.persisted_rows = Counter(
            "flashsale_persistence_rows",
            "Rows upserted into a MySQL table (orders, payments)",
            ["table"],
            registry=registry,
        )
        self.persistence_delay = Histogram(
            "flashsale_persistence_delay_seconds",
            "From the time of a batch's oldest event to its rows being committed in MySQL",
            ["table"],
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.mysql_retries = Counter(
            "flashsale_mysql_retries",
            "MySQL attempts that failed and were retried, by work (orders, payments,"
            " charge, refund)",
            ["work"],
            registry=registry,
        )
        self.projected_batches = Counter(
            "flashsale_order_projection_batches",
            "Batches of order statuses written to Redis",
            registry=registry,
        )
        self.projection_retries = Counter(
            "flashsale_order_projection_retries",
            "Writes of order statuses to Redis that failed and were retried",
            registry=registry,
        )
        # Every label value known in advance, so each series exists (at 0) from the start.
        for operation in ("CHARGE", "REFUND"):
            for status in ("SUCCEEDED", "FAILED"):
                self.payments.labels(operation, status)
        for table in TABLES:
            self.persisted_batches.labels(table)
            self.persisted_rows.labels(table)
        for work in (*TABLES, "charge", "refund"):
            self.mysql_retries.labels(work)


@functools.cache
def saga_metrics() -> SagaMetrics:
    return SagaMetrics(worker_registry())


def count_mysql_retry(work: str) -> None:
    saga_metrics().mysql_retries.labels(work).inc()
