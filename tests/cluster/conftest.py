"""The cluster fault tests run on three brokers of their own, started once for them.

``base_settings`` is overridden here, so every fixture of tests/conftest.py
(fresh settings, workers, the API) points at this cluster, with replication 3
and ``min.insync.replicas`` 2; MariaDB and Redis are the shared ones. Before and
after each test every node is running, thawed and in sync again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from streams.settings import Settings
from tests.cluster.kafka_three import NODES, KafkaThree


@pytest.fixture(scope="package")
def kafka_three(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaThree]:
    cluster = KafkaThree(tmp_path_factory.mktemp("kafka-three"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def base_settings(base_settings: Settings, kafka_three: KafkaThree) -> Settings:
    return dataclasses.replace(
        base_settings,
        kafka_bootstrap=kafka_three.bootstrap,
        kafka_brokers=NODES,
        replication_factor=NODES,
    )


@pytest.fixture(autouse=True)
def whole_cluster(kafka_three: KafkaThree) -> Iterator[None]:
    kafka_three.restore()
    yield
    kafka_three.restore()
