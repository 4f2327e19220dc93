"""The stock agent ``reserve_stock``: the only writer of stock.

It reads ``stock-commands`` (keyed by product, so one product's commands sit in
one partition in arrival order) one record at a time (a command, or a
CommandBatch of one product's commands), decides its commands with
agents/stock_rules.py, writes the table ``key_to_stock_record`` (product record
first, once a record, see agents/stock_replay.py), then sends the outcome events
to ``order-events`` (tables/stock_store.py). First come, first served: records
are decided in offset order, a batch's commands in list order.

Offsets are committed by Faust only after its producer is flushed (at-least-once,
faust/transport/consumer.py ``_commit_offsets``), and the changelog's open
transactions are committed before that flush (tables/stock_transactions.py), so a
committed command's writes and events are already in Kafka; commands after the last
commit are applied again after a crash, which agents/stock_replay.py makes harmless.
A worker that lost its partitions (a zombie) has its changelog writes refused by the
next owner's transactional producers, and ends itself at the refusal.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from agents.stock_gauges import ProductStock
from agents.stock_replay import OUT_OF_ORDER, Step, handle, keys_read
from agents.stock_rules import Located
from agents.worker_metrics import worker_registry
from storage.redis import create_redis
from storage.stock_projection import StockProjection
from streams import faust_fixes
from streams.app import app, order_events, settings, stock_commands
from streams.metrics import StockMetrics
from streams.records import decode_commands
from streams.topics import product_message_key
from tables.stock import key_to_stock_record
from tables.stock_records import PRODUCT_PREFIX, JsonObject, stock_summary
from tables.stock_store import StockStore, stop_without_commit
from tables.stock_transactions import PartitionTransactions

log = logging.getLogger(__name__)


@functools.cache
def stock_metrics() -> StockMetrics:
    return StockMetrics(worker_registry())


@functools.cache
def _redis() -> Redis:
    # One client per worker process, opened on first use on the worker's loop.
    return create_redis(settings.redis_url)


@functools.cache
def stock_projection() -> StockProjection:
    return StockProjection(settings, _redis, stock_metrics())


@functools.cache
def changelog_transactions() -> PartitionTransactions:
    return PartitionTransactions(settings.kafka_bootstrap, app.conf.id, stop_without_commit)


@functools.cache
def stock_store() -> StockStore:
    return StockStore(key_to_stock_record, order_events.get_topic_name(), changelog_transactions())


def _stock_partitions(tps: Any) -> set[int]:
    # Active partitions only: a standby's changelog partition must not fence its owner.
    topic = stock_commands.get_topic_name()
    return {tp.partition for tp in tps if tp.topic == topic}


async def _fence_earlier_owners(assigned: Any) -> None:
    if stock_store().transactions is not None:
        await changelog_transactions().assigned(_stock_partitions(assigned))


async def _commit_revoked(revoked: Any) -> None:
    if stock_store().transactions is not None:
        await changelog_transactions().revoked(_stock_partitions(revoked))


def _on_assigned(sender: Any, assigned: Any, **kwargs: Any) -> Awaitable[None]:
    # Sent before the first decision of any assigned partition: their last owners'
    # writes are refused from here on.
    return _fence_earlier_owners(assigned)


def _on_revoked(sender: Any, revoked: Any, **kwargs: Any) -> Awaitable[None]:
    return _commit_revoked(revoked)


def _on_shutdown(sender: Any, **kwargs: Any) -> Awaitable[None]:
    # After the consumer stopped: what is open is committed, the producers closed.
    return changelog_transactions().stop()


# cast: mode types a handler's ``signal`` argument by a name mypy cannot resolve.
app.on_partitions_assigned.connect(cast(Any, _on_assigned))
app.on_partitions_revoked.connect(cast(Any, _on_revoked))
app.on_before_shutdown.connect(cast(Any, _on_shutdown))


async def _commit_changelog() -> None:
    if stock_store().transactions is not None:
        await changelog_transactions().commit_all()


# Faust's offset commit flushes its producer first; the changelog's open transactions
# are committed before that, so no offset is committed past a write not yet committed.
faust_fixes.before_flush.append(_commit_changelog)


def locate(value: Any, partition: int, offset: int) -> list[Located] | None:
    """The decoded commands of the record at this place, in order, or None (logged)
    if it cannot be decoded: a record is decided whole or not at all."""
    try:
        data = orjson.loads(value) if isinstance(value, bytes | str) else value
        bodies = decode_commands(data)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("skipping undecodable stock command at %s:%s: %s", partition, offset, exc)
        return None
    return [Located(body, partition, offset, index) for index, body in enumerate(bodies)]


def _read(key: str) -> JsonObject | None:
    # For the gauges, outside any event: the open transactions, then Faust's store.
    return stock_store().read_any(key)


async def apply(record: list[Located]) -> Step:
    """Apply one record's commands: table writes in the order given, then the events."""
    first = record[0]
    store = stock_store()
    # The record's reads in one multi-get; nothing is written before handle returns.
    known = store.read_many(first.partition, keys_read(record))

    def read(key: str) -> JsonObject | None:
        return known[key] if key in known else store.read(first.partition, key)

    step = handle(read, record)
    if OUT_OF_ORDER in step.outcomes:
        log.error(
            "stock command at %s:%s arrived after offset %s was applied; its order is"
            " never decided",
            first.partition,
            first.offset,
            step.product["last_offset"],
        )
    key = product_message_key(first.body.product_id)
    await store.write(first.partition, step.writes, [(key, e) for e in step.events])
    stock_projection().note(stock_summary(step.product))
    metrics = stock_metrics()
    now = time.time()
    for command, outcome in zip(record, step.outcomes, strict=True):
        metrics.commands.labels(outcome).inc()
        metrics.command_delay.observe(now - command.body.at)
    return step


@app.agent(stock_commands, concurrency=1)
async def reserve_stock(stream: Any) -> AsyncIterator[Step | None]:
    # Yields what it did with each command (tests read it; nothing sinks it in a worker).
    async for event in stream.events():
        message = event.message
        admission = faust_fixes.offset_gate.admission(app.consumer, message)
        if not admission.apply:
            # Fetched before a rebalance or seek of its partition (fix 5), or records
            # below it have not been decided (fix 6): deciding it now could decide it
            # before them. It comes again in offset order.
            await faust_fixes.offset_gate.set_aside(app.consumer, message, admission.seek_to)
            yield None
            continue
        if admission.gap:
            log.error("%s: offsets below %s are not in Kafka; going on", message.tp, message.offset)
        record = locate(event.value, message.partition, message.offset)
        if record is None:
            stock_metrics().undecodable.inc()
            faust_fixes.offset_gate.applied(app.consumer, message)
            yield None
            continue
        step = await apply(record)
        faust_fixes.offset_gate.applied(app.consumer, message)
        yield step


def product_records() -> list[JsonObject]:
    """The product records of this worker's active partitions (decodes only those)."""
    return list(stock_store().records(PRODUCT_PREFIX))


worker_registry().register(
    ProductStock(
        app,
        stock_commands.get_topic_name(),
        settings.partitions,
        lambda: stock_projection().products(),
        _read,
    )
)


@app.task
async def project_stock() -> None:
    """Publish every product once (Redis may lag a crash), then keep it current."""
    projection = stock_projection()
    for record in product_records():
        projection.note(stock_summary(record))
    await projection.run()
