"""The stock worker's Prometheus metrics, defined once, on a registry given to it.

A worker exposes its registry at ``GET /metrics`` on its Faust web port; tests
pass a fresh ``CollectorRegistry``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


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
        self.projection_flushes = Counter(
            "flashsale_stock_projection_flushes",
            "Batched writes of product counters to Redis, by result (ok, failed)",
            ["result"],
            registry=registry,
        )
        self.projection_lag = Gauge(
            "flashsale_stock_projection_pending",
            "Products whose latest counters are not yet in Redis",
            registry=registry,
        )
