"""Create the pipeline's topics with explicit partitions, replicas and min ISR (idempotent).

Faust's own topics (the stock table's changelog, each role's assignor-leader
topic) are created here too, before any worker starts: Faust would otherwise
declare them itself, without ``min.insync.replicas``.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidReplicationFactorError,
    KafkaConnectionError,
    KafkaError,
    TopicAlreadyExistsError,
)

from streams.settings import Settings
from streams.topics import ALL_TOPICS, faust_topics, topic_config


class TopicsError(RuntimeError):
    """The topics cannot be created as the settings ask; reported in one line."""


def wanted_topics(settings: Settings) -> list[NewTopic]:
    """Every topic of the app, as it must be created."""
    rf = settings.replication_factor
    topics = [
        NewTopic(spec.name(settings), settings.partitions, rf, topic_configs=topic_config(settings))
        for spec in ALL_TOPICS
    ]
    topics += [
        NewTopic(t.name, t.partitions, rf, topic_configs=t.config) for t in faust_topics(settings)
    ]
    return topics


async def ensure_topics(settings: Settings, wait_seconds: float = 30.0) -> list[str]:
    """Create the missing topics; the names created. Waits for the broker to answer."""
    admin = await _connected_admin(settings, wait_seconds)
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted_topics(settings) if t.name not in existing]
        if missing:
            # Another process may create them between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await _create(admin, missing, settings)
            await until_served(admin, missing, wait_seconds)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, topics: list[NewTopic], settings: Settings) -> None:
    try:
        response = await admin.create_topics(topics)
    except InvalidReplicationFactorError as exc:
        raise _too_few_brokers(settings) from exc
    # aiokafka returns per-topic errors in the response instead of raising them.
    for name, code, *message in getattr(response, "topic_errors", []):
        if code == InvalidReplicationFactorError.errno:
            raise _too_few_brokers(settings)
        if code not in (0, TopicAlreadyExistsError.errno):
            raise TopicsError(f"Kafka refused to create topic {name}: {message or code}")


async def until_served(
    admin: AIOKafkaAdminClient, topics: list[NewTopic], wait_seconds: float
) -> None:
    """Until the broker's metadata shows every partition of ``topics`` with a leader.

    A created topic can be missing from a broker's metadata for a moment (seen on a
    broker that had just started). A worker that subscribes then is assigned none of
    its partitions, and its consumer only looks again when its metadata expires, five
    minutes later: every order of those partitions would wait that long.
    """
    wanted = {t.name: t.num_partitions for t in topics}
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        described = await admin.describe_topics(list(wanted))
        led = {
            t["topic"]: sum(1 for p in t["partitions"] if p["leader"] >= 0)
            for t in described
            if t["error_code"] == 0
        }
        if all(led.get(name) == count for name, count in wanted.items()):
            return
        if asyncio.get_running_loop().time() > deadline:
            waiting = sorted(name for name, count in wanted.items() if led.get(name) != count)
            raise TopicsError(f"topics created but not served after {wait_seconds:g}s: {waiting}")
        await asyncio.sleep(0.1)


def _too_few_brokers(settings: Settings) -> TopicsError:
    return TopicsError(
        f"FLASHSALE_REPLICATION_FACTOR={settings.replication_factor} needs as many live brokers"
        f" at {settings.kafka_bootstrap} (FLASHSALE_KAFKA_BROKERS sets how many make up runs)"
    )


async def _connected_admin(settings: Settings, wait_seconds: float) -> AIOKafkaAdminClient:
    """An admin client once enough brokers answer to hold every replica (a cluster's
    nodes register one by one as they start)."""
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        try:
            await admin.start()
            brokers = len((await admin.describe_cluster())["brokers"])
            if brokers >= settings.replication_factor:
                return admin
        except (KafkaConnectionError, KafkaError, OSError):
            brokers = 0
            if asyncio.get_running_loop().time() > deadline:
                await admin.close()
                raise
        await admin.close()
        if brokers and asyncio.get_running_loop().time() > deadline:
            raise _too_few_brokers(settings)
        await asyncio.sleep(0.5)
