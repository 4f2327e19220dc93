"""The one Faust app: ``faust -A streams.app worker`` runs it.

Agents and tables live in their own packages and are found by autodiscovery;
this module only builds the app and its topics from the settings.
"""

from __future__ import annotations

from pathlib import Path

import faust

from streams.fetch_wait import shorten_fetch_wait
from streams.flow_control import keep_queues_on_repeated_resume
from streams.settings import Settings
from streams.topics import ORDER_EVENTS, PAYMENT_EVENTS, STOCK_COMMANDS


def create_app(settings: Settings) -> faust.App:
    brokers = [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(",")]
    return faust.App(
        settings.app_id,
        broker=brokers,
        store="rocksdb://",
        autodiscover=["agents", "tables"],
        origin="streams",
        # One table store per worker: two RocksDB instances cannot share a folder
        # (this setting wins over `faust --datadir`).
        datadir=str(Path(settings.data_dir) / f"{settings.worker_id or 'worker'}.data"),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        # Decisions are only as durable as the changelog and the events they write.
        producer_acks=-1,
        broker_commit_interval=1.0,
        # A worker killed with -9 holds its partitions until this expires (Faust's
        # default is 60 s); its replacement waits that long before it can decide.
        broker_session_timeout=10.0,
        # A named worker is a static group member (KIP-345): restarted after a
        # crash, it gets its partitions back without waiting for that timeout.
        consumer_group_instance_id=(
            f"{settings.app_id}.{settings.worker_id}" if settings.worker_id else None
        ),
        web_host="127.0.0.1",
        web_port=settings.worker_web_port(1),
    )


settings = Settings.from_env()
keep_queues_on_repeated_resume()
shorten_fetch_wait()
app = create_app(settings)

stock_commands = app.topic(
    STOCK_COMMANDS.name(settings),
    partitions=settings.partitions,
    key_serializer="raw",
    value_serializer="json",
)
order_events = app.topic(
    ORDER_EVENTS.name(settings),
    partitions=settings.partitions,
    key_serializer="raw",
    value_serializer="json",
)
payment_events = app.topic(
    PAYMENT_EVENTS.name(settings),
    partitions=settings.partitions,
    key_serializer="raw",
    value_serializer="json",
)
