"""Every topic of the pipeline: its name, key and partition count.

Names carry the app id as a prefix (``flashsale.stock-commands``), so tests and
benches run side by side on one broker. The project creates every topic itself
(``streams.admin.ensure_topics``); the broker never auto-creates one.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    base: str
    key: str
    doc: str

    def name(self, settings: Settings) -> str:
        return f"{settings.app_id}.{self.base}"


STOCK_COMMANDS = TopicSpec(
    "stock-commands",
    key="product_id",
    doc="every command that changes stock; the stock agent is its only consumer",
)
ORDER_EVENTS = TopicSpec(
    "order-events",
    key="product_id",
    doc="what happened to each order, for downstream agents, API instances and analytics",
)

PAYMENT_EVENTS = TopicSpec(
    "payment-events",
    key="order_id",
    doc="charges and refunds made by the payment gateway, for persistence and analytics",
)

ALL_TOPICS = (STOCK_COMMANDS, ORDER_EVENTS, PAYMENT_EVENTS)
# The worker role whose consumer group reads each topic (streams/app.py, ROLE_MODULES).
READER_ROLE = {STOCK_COMMANDS: "stock", ORDER_EVENTS: "saga", PAYMENT_EVENTS: "saga"}


# Topics a role reads outside its Faust consumer, in a group of its own named with this
# suffix: the saga's batch reader of order-events (agents/follow_order_events.py).
OWN_GROUP_SUFFIX = {ORDER_EVENTS: "-events"}


def reader_groups(settings: Settings, specs: tuple[TopicSpec, ...] = ALL_TOPICS) -> dict[str, str]:
    """The consumer group that reads each of ``specs``, by topic name."""
    return {
        spec.name(settings): settings.consumer_group(READER_ROLE[spec])
        + OWN_GROUP_SUFFIX.get(spec, "")
        for spec in specs
    }


# The stock table (tables/stock.py); Faust names its changelog after it.
STOCK_TABLE = "key_to_stock_record"


def topic_config(settings: Settings) -> dict[str, str]:
    """Settings every topic of the app gets, Faust's own included: a write
    acknowledged with acks=all is on ``min.insync.replicas`` brokers."""
    return {"min.insync.replicas": str(settings.min_insync_replicas())}


@dataclass(frozen=True)
class FaustTopic:
    """A topic Faust declares by itself when missing (the project creates it first, so
    that it gets the replication factor and ``min.insync.replicas`` of the others)."""

    name: str
    partitions: int
    config: dict[str, str]


def faust_topics(settings: Settings) -> list[FaustTopic]:
    """The stock table's changelog (compacted, co-partitioned with ``stock-commands``)
    and each role's assignor-leader topic (one partition, ``faust/assignor/leader_assignor.py``)."""
    changelog = FaustTopic(
        f"{settings.app_id}-{STOCK_TABLE}-changelog",
        settings.partitions,
        {**topic_config(settings), "cleanup.policy": "compact"},
    )
    leaders = [
        FaustTopic(
            f"{settings.consumer_group(role)}-__assignor-__leader", 1, topic_config(settings)
        )
        for role in sorted(set(READER_ROLE.values()))
    ]
    return [changelog, *leaders]


def product_message_key(product_id: int) -> bytes:
    """The message key of every topic keyed by product (murmur2-partitioned)."""
    return str(product_id).encode()
