"""The changelog's transactions (tables/stock_transactions.py) on a stand-in producer.

What fences a zombie is Kafka's (a second ``init_transactions`` with the same id); the
fault tests show that on real brokers (tests/cluster/test_zombie_worker.py). Here:
which producer each partition uses, when transactions begin and commit, what a
transaction holds until it commits and hands on after, and that any failure reaches
the fail-stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import IllegalOperation, ProducerFenced

from tables.stock_transactions import FENCED_LOG, PartitionTransactions, transactional_id


class StandInProducer:
    """Records what the stock agent's producer is asked to do."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.calls: list[str] = []
        self.fail_with: BaseException | None = None
        self.delivery_error: BaseException | None = None
        self.send_error: BaseException | None = None  # raised by send itself
        self.next_offset = 0  # the partition's log end, as the broker would number records
        # tables/record_queue.py queues all but a partition's first record here.
        self._message_accumulator = self
        self._request_timeout_ms = 30_000

    async def start(self) -> None:
        self.calls.append("start")

    async def stop(self) -> None:
        self.calls.append("stop")

    async def begin_transaction(self) -> None:
        self.calls.append("begin")

    async def commit_transaction(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append("commit")

    async def send(self, topic: str, value: bytes, key: bytes, partition: int) -> Any:
        return await self.add_message(TopicPartition(topic, partition), key, value, 30.0)

    async def add_message(
        self, tp: TopicPartition, key: bytes, value: bytes, timeout: float
    ) -> Any:
        if self.send_error is not None:
            raise self.send_error
        self.calls.append(f"send {tp.topic}:{tp.partition} {key.decode()}")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.delivery_error is not None:
            future.set_exception(self.delivery_error)
        else:
            future.set_result(SimpleNamespace(offset=self.next_offset))
            self.next_offset += 1
        return future


class Rig:
    def __init__(self, max_age: float = 60.0) -> None:
        self.producers: dict[str, StandInProducer] = {}
        self.failures: list[BaseException] = []
        self.transactions = PartitionTransactions(
            "kafka:9092", "shop", self.failures.append, max_age, producer_factory=self._make
        )
        self.committed: list[tuple[int, dict[bytes, bytes], int]] = []
        self.transactions.on_committed = self._committed

    def _committed(self, partition: int, held: Mapping[bytes, bytes], offset: int) -> None:
        self.committed.append((partition, dict(held), offset))

    def _make(self, **options: Any) -> StandInProducer:
        producer = StandInProducer(**options)
        self.producers[options["transactional_id"]] = producer
        return producer

    def calls(self, partition: int) -> list[str]:
        return self.producers[transactional_id("shop", partition)].calls


def records(*keys: str, value: bytes = b"{}") -> list[tuple[str, bytes, bytes]]:
    return [("changelog", key.encode(), value) for key in keys]


async def test_an_assignment_starts_each_partitions_own_idempotent_producer() -> None:
    rig = Rig()
    await rig.transactions.assigned({0, 3})
    assert sorted(rig.producers) == ["shop-stock-0", "shop-stock-3"]
    for producer in rig.producers.values():
        # Starting it is init_transactions: the partition's last owner is fenced now.
        assert producer.calls == ["start"]
        assert producer.options["enable_idempotence"] is True
        assert producer.options["acks"] == "all"
    await rig.transactions.stop()


async def test_writes_join_one_open_transaction_until_it_is_committed() -> None:
    rig = Rig()
    await rig.transactions.assigned({1})
    await rig.transactions.send(1, records("p:1", "o:a"))
    await rig.transactions.send(1, records("p:1", "o:b"))
    await rig.transactions.commit_all()
    await rig.transactions.send(1, records("p:1"))
    assert rig.calls(1) == [
        "start",
        "begin",
        "send changelog:1 p:1",
        "send changelog:1 o:a",
        "send changelog:1 p:1",
        "send changelog:1 o:b",
        "commit",
        "begin",
        "send changelog:1 p:1",
    ]
    await rig.transactions.stop()
    assert rig.calls(1)[-2:] == ["commit", "stop"]


async def test_a_revoked_partition_commits_then_stops_its_producer() -> None:
    rig = Rig()
    await rig.transactions.assigned({0, 1})
    await rig.transactions.send(0, records("p:1"))
    await rig.transactions.send(1, records("p:2"))
    await rig.transactions.revoked({0})
    assert rig.calls(0)[-2:] == ["commit", "stop"]
    assert "commit" not in rig.calls(1)
    await rig.transactions.stop()


async def test_a_transaction_left_open_is_committed_when_it_is_old() -> None:
    rig = Rig(max_age=0.05)
    await rig.transactions.assigned({2})
    await rig.transactions.send(2, records("p:1"))
    await asyncio.sleep(0.2)
    assert rig.calls(2)[-1] == "commit"
    await rig.transactions.stop()


async def test_a_fenced_commit_reaches_the_fail_stop() -> None:
    rig = Rig()
    await rig.transactions.assigned({0})
    await rig.transactions.send(0, records("p:1"))
    fenced = ProducerFenced()
    rig.producers["shop-stock-0"].fail_with = fenced
    with pytest.raises(ProducerFenced):
        await rig.transactions.commit_all()
    assert rig.failures == [fenced]


async def test_a_refused_write_reaches_the_fail_stop() -> None:
    rig = Rig()
    await rig.transactions.assigned({0})
    refused = ProducerFenced()
    rig.producers["shop-stock-0"].delivery_error = refused
    await rig.transactions.send(0, records("p:1"))
    await asyncio.sleep(0)  # delivery callbacks run on the loop
    assert rig.failures == [refused]


async def test_a_send_refused_after_the_sender_met_the_fencing_is_logged_as_fenced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aiokafka ends a transactional producer's sender with the fencing, then refuses
    each send as "not in transaction": the fail-stop still names the fencing."""
    rig = Rig()
    await rig.transactions.assigned({0})
    await rig.transactions.send(0, records("p:1"))
    producer = rig.producers["shop-stock-0"]
    sender: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    sender.set_exception(ProducerFenced())
    producer._sender = SimpleNamespace(sender_task=sender)  # type: ignore[attr-defined]
    refused = IllegalOperation("Can't send messages while not in transaction")
    producer.send_error = refused
    with caplog.at_level(logging.CRITICAL), pytest.raises(IllegalOperation):
        await rig.transactions.send(0, records("m:1:2"))
    assert rig.failures == [refused]
    assert FENCED_LOG in caplog.text


async def test_a_send_refused_for_another_reason_is_not_called_fenced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = Rig()
    await rig.transactions.assigned({0})
    refused = IllegalOperation("Can't send messages while not in transaction")
    rig.producers["shop-stock-0"].send_error = refused
    with caplog.at_level(logging.CRITICAL), pytest.raises(IllegalOperation):
        await rig.transactions.send(0, records("p:1"))
    assert rig.failures == [refused]
    assert FENCED_LOG not in caplog.text


async def test_a_transaction_holds_its_records_until_the_commit_hands_them_on() -> None:
    rig = Rig()
    await rig.transactions.assigned({1, 2})
    await rig.transactions.send(1, records("p:1", "o:a", value=b"1"))
    await rig.transactions.send(1, records("p:1", "o:b", value=b"2"))
    await rig.transactions.send(2, records("p:2", value=b"3"))
    # Readers find the open transaction's latest value of each key, a partition's own.
    assert rig.transactions.holding(1) == {b"p:1": b"2", b"o:a": b"1", b"o:b": b"2"}
    assert rig.transactions.holding(2) == {b"p:2": b"3"}
    assert rig.committed == []
    await rig.transactions.commit_all()
    # Each partition hands on its whole transaction with the offset of its last record
    # (partition 1 sent four records: offsets 0-3).
    assert sorted(rig.committed) == [
        (1, {b"p:1": b"2", b"o:a": b"1", b"o:b": b"2"}, 3),
        (2, {b"p:2": b"3"}, 0),
    ]
    assert rig.transactions.holding(1) == {} and rig.transactions.holding(2) == {}
    await rig.transactions.send(1, records("o:c", value=b"4"))
    await rig.transactions.stop()  # a clean stop commits too
    assert rig.committed[-1] == (1, {b"o:c": b"4"}, 4)


async def test_a_commit_that_fails_hands_nothing_on() -> None:
    rig = Rig()
    await rig.transactions.assigned({0})
    await rig.transactions.send(0, records("p:1"))
    rig.producers["shop-stock-0"].fail_with = ProducerFenced()
    with pytest.raises(ProducerFenced):
        await rig.transactions.commit_all()
    assert rig.committed == []  # the local store never gets an aborted write


async def test_a_store_that_cannot_take_a_commit_reaches_the_fail_stop() -> None:
    rig = Rig()
    broken = OSError("disk full")

    def refuse(partition: int, held: Mapping[bytes, bytes], offset: int) -> None:
        raise broken

    rig.transactions.on_committed = refuse
    await rig.transactions.assigned({0})
    await rig.transactions.send(0, records("p:1"))
    with pytest.raises(OSError):
        await rig.transactions.commit_all()
    assert rig.failures == [broken]
