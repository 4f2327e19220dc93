"""The saga's batch reader on real Kafka (streams/batch_reader.py): every record is
handed over at least once and committed only after its batch was handled, a batch
whose handling failed comes again, a reader that stops resumes its group at the
commit, and a second member joining takes partitions over without a record lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.batch_reader import READERS, BatchReader, Handle
from streams.settings import Settings
from streams.topics import ORDER_EVENTS

pytestmark = pytest.mark.integration


class Handled:
    """What a reader was handed, in order; optionally failing some batches."""

    def __init__(self, fail: Callable[[list[bytes]], bool] = lambda values: False) -> None:
        self.values: list[bytes] = []
        self.batches = 0
        self.failures = 0
        self._fail = fail

    async def __call__(self, values: list[bytes]) -> None:
        if self._fail(values):
            self.failures += 1
            raise RuntimeError("handling failed")
        self.batches += 1
        self.values.extend(values)


async def _produce(settings: Settings, values: list[bytes]) -> dict[bytes, tuple[int, int]]:
    """Sends ``values``; where each landed, as (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(ORDER_EVENTS.name(settings), v, key=str(i % 8).encode())
            for i, v in enumerate(values)
        ]
        stored = await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return {v: (m.partition, m.offset) for v, m in zip(values, stored, strict=True)}


@contextlib.asynccontextmanager
async def _running(reader: BatchReader) -> AsyncIterator[BatchReader]:
    task = asyncio.create_task(reader.run())
    try:
        yield reader
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        READERS.remove(reader)


def _reader(settings: Settings, handle: Handle, name: str = "a") -> BatchReader:
    return BatchReader(
        settings.kafka_bootstrap,
        ORDER_EVENTS.name(settings),
        f"{settings.app_id}-test-reader",
        handle,
        max_records=50,
        instance_id=f"{settings.app_id}.{name}",
    )


async def _until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.05)


def _committed_total(reader: BatchReader) -> int:
    # Records at offsets below each partition's commit (the topic is fresh: from 0).
    return sum(reader.committed.values())


async def _until_committed(reader: BatchReader, total: int) -> None:
    """Until the reader owns its partitions and has committed ``total`` records."""
    await _until(lambda: reader.ready and _committed_total(reader) == total)


async def test_each_record_is_handed_over_and_committed_after_its_batch(
    fresh_settings: Settings,
) -> None:
    values = [f"v{i}".encode() for i in range(400)]
    await _produce(fresh_settings, values)
    handled = Handled()
    async with _running(_reader(fresh_settings, handled)) as reader:
        await _until_committed(reader, len(values))
        assert sorted(handled.values) == sorted(values)
        assert handled.batches > 1, "read a batch at a time, up to max_records"
        assert {lag for _, _, lag in reader.lags()} == {0}


async def test_a_failed_batch_is_handed_over_again_and_not_committed_before(
    fresh_settings: Settings,
) -> None:
    values = [f"v{i}".encode() for i in range(100)]
    partition, offset = (await _produce(fresh_settings, values))[b"v42"]
    failing = {"on": True}
    handled = Handled(lambda batch: failing["on"] and b"v42" in batch)
    async with _running(_reader(fresh_settings, handled)) as reader:
        await _until(lambda: reader.ready and handled.failures >= 3)
        # Read again and again, and never committed past while it fails.
        assert reader.committed.get(partition, 0) <= offset
        assert b"v42" not in handled.values
        failing["on"] = False
        await _until(lambda: _committed_total(reader) == len(values))
    assert sorted(set(handled.values)) == sorted(values)
    assert handled.values.count(b"v42") == 1


async def test_a_reader_whose_consumer_fails_starts_again_and_reads_on(
    fresh_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = [f"v{i}".encode() for i in range(300)]
    await _produce(fresh_settings, values)
    real_getmany = AIOKafkaConsumer.getmany
    failures = []

    async def failing_once(self: AIOKafkaConsumer, *args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(1)
            raise KafkaError("an error aiokafka does not retry")
        return await real_getmany(self, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConsumer, "getmany", failing_once)
    handled = Handled()
    async with _running(_reader(fresh_settings, handled)) as reader:
        await _until_committed(reader, len(values))
    assert failures and sorted(handled.values) == sorted(values)


async def test_a_stopped_reader_resumes_its_group_at_the_commit(
    fresh_settings: Settings,
) -> None:
    first = [f"a{i}".encode() for i in range(200)]
    await _produce(fresh_settings, first)
    handled = Handled()
    async with _running(_reader(fresh_settings, handled)) as reader:
        await _until_committed(reader, len(first))
    later = [f"b{i}".encode() for i in range(200)]
    await _produce(fresh_settings, later)
    again = Handled()
    async with _running(_reader(fresh_settings, again)) as reader:
        await _until_committed(reader, len(first) + len(later))
    assert sorted(again.values) == sorted(later), "only what was not committed before"


async def test_a_member_joining_mid_stream_takes_partitions_and_nothing_is_lost(
    fresh_settings: Settings,
) -> None:
    values = [f"v{i}".encode() for i in range(3000)]
    slow, joining = Handled(), Handled()
    original = slow.__call__

    async def slowly(batch: list[bytes]) -> None:
        # Slow enough (about 6 s for all) that the join comes with batches still to
        # read, and a batch is in hand when it does.
        await asyncio.sleep(0.1)
        await original(batch)

    async with _running(_reader(fresh_settings, slowly, "a")) as one:
        await _until(lambda: one.ready)
        producing = asyncio.create_task(_produce(fresh_settings, values))
        await _until(lambda: len(slow.values) > 200)
        async with _running(_reader(fresh_settings, joining, "b")) as two:
            await producing
            await _until(
                lambda: (
                    one.ready
                    and two.ready
                    and not (one.owned or set()) & (two.owned or set())
                    and _committed_total(one) + _committed_total(two) == len(values)
                    and set(slow.values) | set(joining.values) == set(values)
                )
            )
            assert one.owned and two.owned
            assert joining.values, "the new member read its partitions"
