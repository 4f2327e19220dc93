"""The web URLs of the Faust workers in a consumer group, as the broker knows them.

A Faust worker puts its web URL (``canonical_url``: its ``--web-host`` and
``--web-port``) into the subscription it sends when it joins its group
(faust/assignor/partition_assignor.py, ``ClientMetadata``). So the group's
description names every running worker, however many were started and on whatever
ports, and a tool needs no list of them (``faust -A streams.app stock``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberMetadata
from aiokafka.errors import KafkaError

from streams.settings import Settings

# The broker hands out the members' subscriptions only while the group is Stable; a
# rebalance (a worker joining or leaving) usually settles within a few seconds.
SETTLE_SECONDS = 15.0
POLL_SECONDS = 0.25


class GroupUnavailable(RuntimeError):
    """Kafka did not answer, or the group did not settle in time."""


async def worker_web_urls(bootstrap: str, group: str, within: float = SETTLE_SECONDS) -> list[str]:
    """The web URLs of the group's members, sorted; [] when the group has no member."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        deadline = asyncio.get_running_loop().time() + within
        while True:
            (response,) = await admin.describe_consumer_groups([group])
            described = response.to_object()["groups"][0]
            if described["state"] in ("Empty", "Dead"):
                return []
            if described["state"] == "Stable":
                return sorted(_member_url(m) for m in described["members"])
            if asyncio.get_running_loop().time() > deadline:
                raise GroupUnavailable(
                    f"consumer group {group} still {described['state']} after {within:.0f}s"
                )
            await asyncio.sleep(POLL_SECONDS)
    except KafkaError as exc:
        raise GroupUnavailable(f"Kafka at {bootstrap}: {exc}") from exc
    finally:
        await admin.close()


async def running_role_urls(settings: Settings, role: str) -> list[str]:
    """The web URLs of the role's workers running now; exits with one line when there
    is none or the broker cannot say (for the Faust CLI commands)."""
    group = settings.consumer_group(role)
    try:
        urls = await worker_web_urls(settings.kafka_bootstrap, group)
    except GroupUnavailable as exc:
        sys.exit(f"cannot find the {role} workers: {exc}")
    if not urls:
        sys.exit(f"no {role} worker is running (consumer group {group} has no member)")
    return urls


def _member_url(member: dict[str, Any]) -> str:
    subscription = ConsumerProtocolMemberMetadata.decode(member["member_metadata"])
    return str(json.loads(subscription.user_data)["url"]).rstrip("/")
