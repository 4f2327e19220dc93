"""A run's or a test's own data on the shared servers: made fresh, removed afterwards.

Every name it uses starts with its fresh app id ``<prefix><tag>`` (``bench…`` for a
bench run, ``t…`` for a test; topics ``<app id>.*`` and Faust's ``<app id>-*``, Redis
keys ``<app id>:*``), and its MySQL database is ``<database>_<prefix><tag>``, so
removing it touches nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis
from aiokafka.admin import AIOKafkaAdminClient

from storage.migrations import apply_migrations
from storage.mysql import MySQLConfig, connect
from streams.admin import ensure_topics
from streams.settings import Settings

REDIS_DELETE_BATCH = 1000


def fresh_settings(
    base: Settings, data_dir: Path, prefix: str = "bench", /, **changes: object
) -> Settings:
    """``base`` with a fresh app id and database name, data under ``data_dir``; ``changes``
    replace further fields."""
    tag = uuid.uuid4().hex[:10]
    database = f"{MySQLConfig.from_url(base.mysql_url).database}_{prefix}{tag}"
    fields: dict[str, object] = {
        "app_id": f"{prefix}{tag}",
        "mysql_url": f"{base.mysql_url.rsplit('/', 1)[0]}/{database}",
        "data_dir": str(data_dir),
        **changes,
    }
    return dataclasses.replace(base, **fields)  # type: ignore[arg-type]


@contextlib.contextmanager
def fresh_namespace(
    base: Settings, data_dir: Path, prefix: str, remove_all: bool, **changes: object
) -> Iterator[Settings]:
    """``fresh_settings`` with their database (migrated) and topics made, for the body.

    The database is dropped after it; ``remove_all`` also deletes its topics and Redis
    keys (a bench tool's run; the tests' namespaces leave them, as they always have).
    """
    settings = fresh_settings(base, data_dir, prefix, **changes)
    create_database(settings)
    try:
        asyncio.run(ensure_topics(settings))
        yield settings
    finally:
        drop_database(settings)
        if remove_all:
            asyncio.run(drop_topics_and_keys(settings))


def create_database(settings: Settings) -> None:
    """The run's database, migrated."""
    _on_server(settings, "CREATE DATABASE `{}` CHARACTER SET utf8mb4")
    apply_migrations(settings.mysql_url)


def drop_database(settings: Settings) -> None:
    _on_server(settings, "DROP DATABASE IF EXISTS `{}`")


def _on_server(settings: Settings, statement: str) -> None:
    config = MySQLConfig.from_url(settings.mysql_url)
    conn = connect(config.with_database(""))
    try:
        with conn.cursor() as cur:
            cur.execute(statement.format(config.database))
    finally:
        conn.close()


async def drop_topics(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        prefixes = (f"{settings.app_id}.", f"{settings.app_id}-")
        ours = [t for t in await admin.list_topics() if t.startswith(prefixes)]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()


def drop_redis_keys(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        keys = list(client.scan_iter(match=f"{settings.app_id}:*", count=REDIS_DELETE_BATCH))
        for start in range(0, len(keys), REDIS_DELETE_BATCH):
            client.delete(*keys[start : start + REDIS_DELETE_BATCH])
    finally:
        client.close()


async def drop_topics_and_keys(settings: Settings) -> None:
    await drop_topics(settings)
    await asyncio.to_thread(drop_redis_keys, settings)
