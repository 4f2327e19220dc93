"""Per-product stock gauges of a stock worker: remaining, held, sold and stock units.

Read from the worker's own table when Prometheus scrapes (nothing on the decision
path), for the products of the ``stock-commands`` partitions it owns now, so two
workers never both report a product. One series per product and gauge: bounded
by the products on sale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import faust
from aiokafka.partitioner import murmur2
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from streams.topics import product_message_key
from tables.stock_records import PRODUCT_PREFIX, JsonObject

GAUGES = {
    "remaining": "Units of a product that can be reserved now",
    "held": "Units of a product reserved and not yet paid",
    "sold": "Units of a product paid for",
    "stock": "Units of a product ever listed (initial stock plus restocks)",
}


def partition_of(product_id: int, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a product's key (the API's and
    Faust's producers both use it)."""
    return (murmur2(product_message_key(product_id)) & 0x7FFFFFFF) % partitions


class ProductStock(Collector):
    def __init__(
        self,
        worker: faust.App,
        topic: str,
        partitions: int,
        products: Callable[[], Iterable[int]],
        read: Callable[[str], JsonObject | None],
    ) -> None:
        self.worker, self.topic, self.partitions = worker, topic, partitions
        self.products, self.read = products, read

    def owned(self) -> set[int]:
        consumer: Any = self.worker.consumer
        try:
            return {tp.partition for tp in consumer.assignment() if tp.topic == self.topic}
        except Exception:  # not started yet, or stopping
            return set()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            field: GaugeMetricFamily(f"flashsale_product_{field}_units", doc, labels=["product_id"])
            for field, doc in GAUGES.items()
        }
        owned = self.owned()
        for product_id in sorted(self.products()):
            if partition_of(product_id, self.partitions) not in owned:
                continue
            record = self.read(f"{PRODUCT_PREFIX}{product_id}")
            if record is None:
                continue
            for field, family in families.items():
                family.add_metric([str(product_id)], record[field])
        yield from families.values()
