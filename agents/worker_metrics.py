"""What every Faust worker exports at ``GET /metrics`` (its web port), whatever its role.

One registry per worker process. The role's own metrics are defined on it
(streams/metrics.py for the stock role, agents/saga_metrics.py for the saga
role); this module adds what every worker has: the consumer lag of each source
partition it owns, its rebalances and how long they took, and process metrics.
Lag is computed when Prometheus scrapes, so it costs the decisions nothing.
Every metric is listed in docs/metrics.md.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from typing import Any

import faust
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.app import app, settings
from streams.batch_reader import READERS
from streams.metrics import add_process_collectors

log = logging.getLogger(__name__)

# A rebalance takes ~0.1 s when a worker joins a quiet group, up to the session
# timeout (10 s) plus a table's recovery when a worker died.
REBALANCE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


@functools.cache
def worker_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    add_process_collectors(registry)
    return registry


class ConsumerLag(Collector):
    """``flashsale_consumer_lag_messages``: the end offset of each source partition
    this worker owns minus its group's committed offset there (messages not yet
    committed as done), for its Faust consumer and each of its batch readers
    (streams/batch_reader.py), each under its own group. Tables' changelogs are not
    sources and are left out."""

    def __init__(self, worker: faust.App, group: str) -> None:
        self.worker, self.group = worker, group

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "flashsale_consumer_lag_messages",
            "Messages of a source partition its consumer group has not committed yet",
            labels=["group", "topic", "partition"],
        )
        for topic, partition, lag in self.lags():
            family.add_metric([self.group, topic, str(partition)], lag)
        for reader in READERS:
            for topic, partition, lag in reader.lags():
                family.add_metric([reader.group, topic, str(partition)], lag)
        yield family

    def lags(self) -> list[tuple[str, int, int]]:
        consumer: Any = self.worker.consumer
        try:
            owned = consumer.assignment()
        except Exception:  # not started yet, or stopping: nothing owned to report
            return []
        changelogs = set(self.worker.tables.changelog_topics)
        lags = []
        for tp in sorted(owned):
            if tp.topic in changelogs:
                continue
            committed = consumer._committed_offset.get(tp)
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # revoked since assignment() was read: left out
                continue
            # Unknown until the first fetch of the partition, or before its first seek.
            if highwater is not None and committed is not None:
                lags.append((tp.topic, tp.partition, max(highwater - committed, 0)))
        return lags


class RebalanceMetrics(faust.Sensor):
    """Counts this worker's rebalances and times each, recovery of its tables included."""

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self.rebalances = Counter(
            "flashsale_worker_rebalances",
            "Rebalances of this worker's consumer group that this worker took part in",
            registry=registry,
        )
        self.seconds = Histogram(
            "flashsale_worker_rebalance_duration_seconds",
            "From a rebalance's start to this worker deciding again (tables recovered)",
            buckets=REBALANCE_BUCKETS,
            registry=registry,
        )

    def on_rebalance_start(self, app: Any) -> dict[str, float]:
        self.rebalances.inc()
        return {"time_start": time.monotonic()}

    def on_rebalance_end(self, app: Any, state: dict[str, float]) -> None:
        self.seconds.observe(time.monotonic() - state["time_start"])


worker_registry().register(ConsumerLag(app, settings.consumer_group()))
app.sensors.add(RebalanceMetrics(worker_registry()))


@app.page("/metrics")
async def worker_metrics(web: View, request: Request) -> Response:
    text = generate_latest(worker_registry()).decode()
    return web.text(text, content_type="text/plain; version=0.0.4")
