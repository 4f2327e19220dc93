"""Prometheus metrics every process shares, and the stock worker's, defined once.

A worker exposes its registry at ``GET /metrics`` on its Faust web port
(agents/worker_metrics.py), the API at ``GET /metrics`` on its port; tests pass a
fresh ``CollectorRegistry``. Every metric is listed in docs/metrics.md.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

# Seconds. An answer or a decision takes ~1-30 ms; the top buckets catch a Kafka or
# MySQL stall (the API's producer gives up after 5 s, Prefer: wait after 10 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Seconds, for work that may trail behind by minutes (a backlog, an outage).
DELAY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


def add_process_collectors(registry: CollectorRegistry) -> None:
    """CPU, memory, open files, GC and the Python version (the default registry's set)."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)


class StockMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.commands = Counter(
            "flashsale_stock_commands",
            "Stock commands handled, by outcome: a decision (RESERVED, SOLD_OUT, "
            "LIMIT_EXCEEDED, SALE_NOT_ACTIVE, LISTED, RESTOCKED, DUPLICATE) or a replay "
            "after a restart (REPLAYED: all writes had survived; REPAIRED: some rewritten); "
            "NOT_HANDLED: a command kind these rules do not decide",
            ["outcome"],
            registry=registry,
        )
        self.undecodable = Counter(
            "flashsale_stock_commands_undecodable",
            "Stock commands skipped because they could not be decoded",
            registry=registry,
        )
        self.command_delay = Histogram(
            "flashsale_stock_command_delay_seconds",
            "From a command's time (set by its producer) to the stock agent applying it",
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.projection_flushes = Counter(
            "flashsale_stock_projection_flushes",
            "Batched writes of product counters to Redis, by result (ok, failed)",
            ["result"],
            registry=registry,
        )
        for result in ("ok", "failed"):
            self.projection_flushes.labels(result)
        self.projection_lag = Gauge(
            "flashsale_stock_projection_pending",
            "Products whose latest counters are not yet in Redis",
            registry=registry,
        )
