"""Every topic of the app, Faust's own included, is created with the replication and
``min.insync.replicas`` the settings ask for, under the names Faust really uses."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.admin import TopicsError, until_served, wanted_topics
from streams.settings import Settings
from streams.topics import ALL_TOPICS, faust_topics


def _by_name(settings: Settings) -> dict[str, tuple[int, int, dict[str, str]]]:
    return {
        t.name: (t.num_partitions, t.replication_factor, dict(t.topic_configs))
        for t in wanted_topics(settings)
    }


def test_three_brokers_give_every_topic_three_replicas_two_in_sync() -> None:
    settings = Settings.from_env({"FLASHSALE_KAFKA_BROKERS": "3"}, app_id="shop", partitions=6)
    topics = _by_name(settings)
    assert set(topics) == {
        "shop.stock-commands",
        "shop.order-events",
        "shop.payment-events",
        "shop-key_to_stock_record-changelog",
        "shop-__assignor-__leader",
        "shop-saga-__assignor-__leader",
    }
    for name, (partitions, replicas, config) in topics.items():
        assert replicas == 3, name
        assert config["min.insync.replicas"] == "2", name
        assert partitions == (1 if "__assignor" in name else 6), name
    assert topics["shop-key_to_stock_record-changelog"][2]["cleanup.policy"] == "compact"


def test_one_broker_gives_one_replica() -> None:
    for _, replicas, config in _by_name(Settings.from_env({})).values():
        assert (replicas, config["min.insync.replicas"]) == (1, "1")


def test_the_names_are_those_faust_declares() -> None:
    from streams import app
    from tables.stock import key_to_stock_record

    changelog, *leaders = faust_topics(app.settings)
    assert changelog.name == key_to_stock_record.changelog_topic_name
    assert changelog.partitions == key_to_stock_record.partitions
    stock_leader = app.app._leader_assignor._leader_topic_name
    assert stock_leader in {t.name for t in leaders}
    saga = dataclasses.replace(app.settings, worker_role="saga")
    assert f"{saga.consumer_group()}-__assignor-__leader" in {t.name for t in leaders}
    assert len(ALL_TOPICS) + len(leaders) + 1 == len(wanted_topics(app.settings))
    assert app.app.conf.topic_replication_factor == app.settings.replication_factor
    assert key_to_stock_record.extra_topic_configs == {
        "min.insync.replicas": str(app.settings.min_insync_replicas())
    }


class _MetadataCatchingUp:
    """A stand-in admin client whose broker shows a created topic a few looks late,
    first without and then with its partitions' leaders."""

    def __init__(self, answers: list[list[dict[str, Any]]]) -> None:
        self.answers = answers
        self.looks = 0

    async def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        self.looks += 1
        return self.answers[min(self.looks, len(self.answers)) - 1]


def _described(error_code: int, leaders: list[int]) -> list[dict[str, Any]]:
    partitions = [{"partition": p, "leader": leader} for p, leader in enumerate(leaders)]
    return [{"topic": "shop.order-events", "error_code": error_code, "partitions": partitions}]


async def test_topics_are_waited_for_until_the_broker_serves_every_partition() -> None:
    topic = NewTopic("shop.order-events", 2, 1)
    unknown = [{"topic": "shop.order-events", "error_code": 3, "partitions": []}]
    admin = _MetadataCatchingUp([unknown, _described(0, [1, -1]), _described(0, [1, 1])])
    await until_served(cast(AIOKafkaAdminClient, admin), [topic], wait_seconds=5)
    assert admin.looks == 3


async def test_topics_never_served_are_one_line_error() -> None:
    admin = _MetadataCatchingUp([_described(0, [1, -1])])
    with pytest.raises(TopicsError) as raised:
        topic = NewTopic("shop.order-events", 2, 1)
        await until_served(cast(AIOKafkaAdminClient, admin), [topic], wait_seconds=0.3)
    assert str(raised.value) == ("topics created but not served after 0.3s: ['shop.order-events']")
