"""Coalesced produces under a Kafka outage: every 202 is stored, no 503 is.

The API packs one product's concurrent orders into one CommandBatch record
(topology.md, "Command records"). Kafka is made to refuse this test's
stock-commands writes while orders are in flight (the topic's
``max.message.bytes`` below any record: MESSAGE_TOO_LARGE; the shared broker
cannot be stopped, and a single broker ignores a ``min.insync.replicas`` above
its replica count). Then the topic is writable again and orders go on. Read
back from the topic: every order answered 202 is in a record, no order answered
503 is (the API abandons the producer that failed,
so nothing it answered 503 for is sent later), and batches were made.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from kit.kafka import end_offsets_total
from kit.processes import ManagedProcess
from kit.sale import list_product, seed_members
from streams.records import command_entries
from streams.settings import Settings
from streams.topics import STOCK_COMMANDS
from tests.support.sale import post_orders, read_topic

pytestmark = pytest.mark.integration


async def _refuse_writes(settings: Settings, topic: str, refuse: bool) -> None:
    """Make the broker refuse every record of ``topic`` (or take them again)."""
    # AlterConfigs sets the topic's whole dynamic config: keep min.insync.replicas.
    configs = {"min.insync.replicas": str(settings.min_insync_replicas())}
    if refuse:
        configs["max.message.bytes"] = "16"  # smaller than any command: MESSAGE_TOO_LARGE
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs)])
    finally:
        await admin.close()


async def _until_refused(settings: Settings, topic: str, within: float = 10.0) -> None:
    """Until the broker applies the refusal (a topic config change takes a moment): a
    probe record is refused. A probe taken before that is no command (no order id)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    deadline = asyncio.get_running_loop().time() + within
    try:
        while True:
            try:
                await producer.send_and_wait(topic, b'{"kind": "Probe"}', key=b"0")
            except KafkaError:
                return
            assert asyncio.get_running_loop().time() < deadline, "writes were never refused"
            await asyncio.sleep(0.05)
    finally:
        await producer.stop()


async def test_a_refused_batch_is_503_for_exactly_its_orders_and_never_stored(
    fresh_settings: Settings,
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    _, base = api_factory(fresh_settings)
    admin, *_ = seed_members(fresh_settings, 1, role="admin")
    members = seed_members(fresh_settings, 300, token_versions=True)
    products = [(await list_product(base, admin, stock=10_000))["product_id"] for _ in range(2)]
    orders = [(m, products[n % 2]) for n, m in enumerate(members)]
    topic = STOCK_COMMANDS.name(fresh_settings)

    before = await post_orders(base, orders[:120], concurrency=60)
    answered = [0]
    during = asyncio.create_task(post_orders(base, orders[120:150], 20, answered=answered))
    while answered[0] < 10:  # the outage begins with orders in flight
        await asyncio.sleep(0.001)
    await _refuse_writes(fresh_settings, topic, refuse=True)
    try:
        await _until_refused(fresh_settings, topic)
        # And goes on for orders that all arrive once the broker refuses.
        outage = await during + await post_orders(base, orders[150:180], concurrency=20)
    finally:
        await _refuse_writes(fresh_settings, topic, refuse=False)
    await asyncio.sleep(1.0)
    after = await post_orders(base, orders[180:], concurrency=60)

    answers = before + outage + after
    assert {status for status, _ in answers} <= {202, 503}, answers
    accepted = {body["order_id"] for status, body in answers if status == 202}
    refused = [status for status, _ in outage if status == 503]
    assert refused, "the outage refused no order"
    assert {status for status, _ in before + after} == {202}
    total = await end_offsets_total(fresh_settings, topic)
    records = await read_topic(fresh_settings, topic, until=total)
    values = [json.loads(r.value) for r in records]
    stored = [c["order_id"] for v in values for c in command_entries(v) if "order_id" in c]
    assert len(stored) == len(set(stored)), "an order was stored twice"
    assert accepted <= set(stored), f"{len(accepted - set(stored))} orders answered 202 missing"
    assert set(stored) <= accepted, f"{len(set(stored) - accepted)} orders answered 503 stored"
    assert any(v["kind"] == "CommandBatch" for v in values), "no batch was made"
