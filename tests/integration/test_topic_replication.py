"""Topics on the real broker: replicas and min ISR as the settings say, or a one-line refusal."""

from __future__ import annotations

import dataclasses
import subprocess
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from kit.processes import VENV_BIN
from streams.admin import TopicsError, ensure_topics, wanted_topics
from streams.settings import Settings

pytestmark = pytest.mark.integration


async def test_every_topic_faust_s_too_is_created_with_its_min_insync_replicas(
    fresh_settings: Settings,
) -> None:
    # fresh_settings created them (one broker: one replica, min ISR 1).
    names = [t.name for t in wanted_topics(fresh_settings)]
    admin = AIOKafkaAdminClient(bootstrap_servers=fresh_settings.kafka_bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        responses = await admin.describe_configs(resources)
    finally:
        await admin.close()
    assert sorted(t["topic"] for t in described if t["error_code"] == 0) == sorted(names)
    assert all(len(p["replicas"]) == 1 for t in described for p in t["partitions"])
    min_isr = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}["min.insync.replicas"]
        for response in responses
        for resource in response.resources
    }
    assert min_isr == dict.fromkeys(names, "1")


async def test_more_replicas_than_brokers_is_refused_in_one_line(base_settings: Settings) -> None:
    settings = dataclasses.replace(
        base_settings, app_id=f"t{uuid.uuid4().hex[:10]}", replication_factor=3
    )
    with pytest.raises(TopicsError) as raised:
        await ensure_topics(settings, wait_seconds=1)
    assert "FLASHSALE_REPLICATION_FACTOR=3" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_cli_says_so_without_a_traceback(base_settings: Settings) -> None:
    env = {
        **base_settings.to_env(),
        "FLASHSALE_APP_ID": f"t{uuid.uuid4().hex[:10]}",
        "FLASHSALE_REPLICATION_FACTOR": "3",
    }
    done = subprocess.run(
        [str(VENV_BIN / "flashsale-admin"), "create-topics", "--wait", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: FLASHSALE_REPLICATION_FACTOR=3 needs")
    assert "Traceback" not in done.stderr
