"""Create the pipeline's topics with explicit partition counts (idempotent)."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from streams.settings import Settings
from streams.topics import ALL_TOPICS


async def ensure_topics(settings: Settings, wait_seconds: float = 30.0) -> list[str]:
    """Create the missing topics; the names created. Waits for the broker to answer."""
    admin = await _connected_admin(settings, wait_seconds)
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(spec.name(settings), settings.partitions, 1)
            for spec in ALL_TOPICS
            if spec.name(settings) not in existing
        ]
        if missing:
            # Another process may create them between our list and create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _connected_admin(settings: Settings, wait_seconds: float) -> AIOKafkaAdminClient:
    deadline = asyncio.get_running_loop().time() + wait_seconds
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        try:
            await admin.start()
            await admin.list_topics()
            return admin
        except (KafkaConnectionError, KafkaError, OSError):
            await admin.close()
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
