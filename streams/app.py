"""The one Faust app: ``faust -A streams.app worker`` runs it.

Agents and tables live in their own packages and are found by autodiscovery;
this module only builds the app and its topics from the settings.

A worker has one role (``FLASHSALE_WORKER_ROLE``), and each role is its own
consumer group with its own agents, so deciding never waits behind the work that
follows a decision, and a rebalance of one role leaves the other running:

- ``stock`` (the default): ``reserve_stock`` and its table, the only writer of stock;
- ``saga``: one agent per topic it reads (``follow_order_events``, ``persist_payments``)
  and the expiry timer. One subscriber per topic matters: a message delivered to
  several agents of one worker can be left half-acknowledged by a rebalance, which
  then waits for it for ever (streams/faust_fixes.py has the other rebalance fixes).
"""

from __future__ import annotations

from pathlib import Path

import faust

from streams import faust_fixes
from streams.settings import Settings, SettingsError
from streams.topics import ORDER_EVENTS, PAYMENT_EVENTS, STOCK_COMMANDS

# What each role's worker imports (and so runs); the modules of one role never
# import those of the other.
ROLE_MODULES = {
    "stock": [
        "agents.reserve_stock",
        "agents.stock_inspection",
        "agents.worker_metrics",
        "agents.readiness",
        "tables",
    ],
    "saga": [
        "agents.follow_order_events",
        "agents.persist_payments",
        "agents.expire_holds",
        "agents.worker_metrics",
        "agents.readiness",
    ],
    # Not started by make up: FLASHSALE_WORKER_ROLE=analytics (agents/sales_table.py).
    "analytics": ["agents.sales_table", "agents.readiness"],
}


def create_app(settings: Settings) -> faust.App:
    brokers = [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(",")]
    return faust.App(
        settings.consumer_group(),
        broker=brokers,
        store="rocksdb://",
        autodiscover=ROLE_MODULES[settings.worker_role],
        origin="streams",
        # One table store per worker: two RocksDB instances cannot share a folder
        # (this setting wins over `faust --datadir`).
        datadir=str(Path(settings.data_dir) / f"{settings.worker_id or 'worker'}.data"),
        topic_partitions=settings.partitions,
        # Topics Faust declares itself get these replicas; streams/admin.py creates
        # them first anyway, with min.insync.replicas as well.
        topic_replication_factor=settings.replication_factor,
        # Decisions are only as durable as the changelog and the events they write.
        producer_acks=-1,
        # A decision writes 2-3 KB (changelog and event), a CommandBatch of 50 orders
        # over 100 KB: aiokafka appends to a full 16 KB batch only after the
        # previous one is sent, so a record's writes waited for several round trips.
        # Under Kafka's 1 MB record-batch limit.
        producer_max_batch_size=256 * 1024,
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
        web_port=settings.worker_web_port(1)
        if settings.worker_role == "stock"
        else settings.saga_web_port(),
    )


try:
    settings = Settings.from_env()
except SettingsError as exc:
    # Every `faust -A streams.app ...` command imports this first: one line, no traceback.
    raise SystemExit(f"flashsale: {exc}") from None
faust_fixes.apply()
app = create_app(settings)

# stock-commands is read as bytes: a value that is not JSON reaches the stock agent
# and is skipped there, instead of being thrown into the stream by the JSON codec.
# Whoever sends a record object on it says ``value_serializer="json"``.
stock_commands = app.topic(
    STOCK_COMMANDS.name(settings),
    partitions=settings.partitions,
    key_serializer="raw",
    value_serializer="raw",
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
