"""The fixes to Faust's internals (streams/faust_fixes.py), each on the code it replaces."""

from __future__ import annotations

import inspect
from collections import defaultdict
from types import SimpleNamespace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.consumer.fetcher import Fetcher
from aiokafka.consumer.subscription_state import Assignment, TopicPartitionState
from faust.types import TP, Message
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams import faust_fixes
from streams.faust_fixes import committable_run
from streams.fetching import QUIET_MAX_WAIT_MS, QUIET_MIN_BYTES

TOPIC_PARTITION = TP("stock-commands", 0)


def _queue_with(flow: FlowControlEvent, *items: int) -> FlowControlQueue[int]:
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for item in items:
        queue.put_nowait(item)
    return queue


def test_a_repeated_resume_keeps_queued_messages() -> None:
    faust_fixes.apply()
    flow = FlowControlEvent(initially_suspended=False)
    queue = _queue_with(flow, 1, 2)
    flow.resume()
    assert queue.qsize() == 2


def test_resuming_after_a_suspend_still_empties_the_queues() -> None:
    faust_fixes.apply()
    flow = FlowControlEvent(initially_suspended=False)
    queue = _queue_with(flow, 1, 2)
    flow.suspend()
    flow.resume()
    assert queue.qsize() == 0
    assert flow.is_active()


async def test_the_worker_consumer_waits_at_most_40_ms_for_a_fetch() -> None:
    from streams.app import app

    thread = app.consumer._thread
    unpatched = faust_fixes._originals["create_consumer"](thread, app.transport)
    patched = thread._create_worker_consumer(app.transport)
    try:
        assert unpatched._fetch_max_wait_ms == 1500  # what Faust asks for
        assert patched._fetch_max_wait_ms == QUIET_MAX_WAIT_MS
        assert unpatched._fetch_min_bytes == 1
        assert patched._fetch_min_bytes == QUIET_MIN_BYTES  # until records come fast
        # The attributes are what start() hands to the Fetcher in this aiokafka, and
        # the Fetcher reads its minimum and wait for each request it builds (FetchSizing).
        started = inspect.getsource(AIOKafkaConsumer.start)
        assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in started
        assert "fetch_min_bytes=self._fetch_min_bytes" in started
        builds_requests = inspect.getsource(Fetcher._get_actions_per_node)
        assert "self._fetch_min_bytes," in builds_requests
        assert "self._fetch_max_wait_ms," in builds_requests
    finally:
        await unpatched.stop()
        await patched.stop()


@pytest.mark.parametrize(
    ("acked", "committed", "run"),
    [
        ([12, 13, 14], 12, [12, 13, 14]),
        ([13, 14], 12, []),  # offset 12 not done: Faust's own guard committed 15
        ([5, 6, 7], None, []),  # head unknown: Faust committed 8
        ([5, 6, 7], 0, []),  # a new group's head: Faust committed 8
        ([0, 1, 2, 4], 0, [0, 1, 2]),
        ([], 3, []),
    ],
)
def test_a_commit_covers_only_the_run_that_starts_at_the_committed_offset(
    acked: list[int], committed: int | None, run: list[int]
) -> None:
    assert committable_run(acked, committed) == run


class _Offsets:
    """The bookkeeping Faust's Consumer keeps per partition, as ``_new_offset`` reads it."""

    def __init__(self, acked: list[int], committed: int | None) -> None:
        self._acked = defaultdict(list, {TOPIC_PARTITION: list(acked)})
        self._acked_index = defaultdict(set, {TOPIC_PARTITION: set(acked)})
        self._gap: defaultdict[TP, IntervalTree] = defaultdict(IntervalTree)
        self._committed_offset = defaultdict(lambda: None, {TOPIC_PARTITION: committed})


def test_the_new_offset_withholds_a_commit_over_a_hole_at_the_head() -> None:
    faust_fixes.apply()
    from faust.transport.consumer import Consumer

    offsets = _Offsets([13, 14], committed=12)
    assert Consumer._new_offset(offsets, TOPIC_PARTITION) is None  # type: ignore[arg-type]
    assert offsets._acked[TOPIC_PARTITION] == [13, 14]  # kept for when 12 is done
    offsets._acked[TOPIC_PARTITION].append(12)
    assert Consumer._new_offset(offsets, TOPIC_PARTITION) == 15  # type: ignore[arg-type]
    assert offsets._acked[TOPIC_PARTITION] == []


def test_offsets_acked_again_below_the_commit_do_not_hold_later_commits_back() -> None:
    """Seen in the rebalance soak: a message acked twice around a rebalance stayed below
    the committed offset, and the partition never committed again."""
    faust_fixes.apply()
    from faust.transport.consumer import Consumer

    offsets = _Offsets([266, 274, 275], committed=274)
    assert Consumer._new_offset(offsets, TOPIC_PARTITION) == 276  # type: ignore[arg-type]
    assert offsets._acked_index[TOPIC_PARTITION] == set()


def test_the_fixes_refuse_other_library_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faust_fixes, "installed_versions", lambda: {"faust": "0.16.0"})
    with pytest.raises(RuntimeError, match="written for"):
        faust_fixes.apply()


def test_faust_drops_nothing_as_already_read() -> None:
    from streams.app import app

    read = app.consumer._read_offset
    assert isinstance(read, faust_fixes.NoReadOffsets)
    read[TOPIC_PARTITION] = 154  # what Faust's fetch loop records after delivering 154
    read.update({TOPIC_PARTITION: 153})  # and its seek
    assert read[TOPIC_PARTITION] is None  # so 153, fetched again, is not filtered by Faust
    assert read.pop(TOPIC_PARTITION, None) is None


def _assigned(tp: TP) -> TopicPartitionState:
    """A partition as aiokafka's consumer holds it after an assignment."""
    state: TopicPartitionState = Assignment([TopicPartition(tp.topic, tp.partition)]).state_value(
        TopicPartition(tp.topic, tp.partition)
    )
    return state


async def test_a_batch_fetched_before_a_seek_is_not_delivered_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The soak's loss: 402, fetched before the seek to 286, was delivered first."""
    faust_fixes.apply()
    tp = TP("seek-test-commands", 5)
    state = _assigned(tp)
    state.reset_to(300)  # the fetcher's own start; then it reads on to 402

    async def fetched(*args: object, **kwargs: object) -> dict[TP, list[int]]:
        return {tp: [402]}

    monkeypatch.setitem(faust_fixes._originals, "fetch_records", fetched)
    batch = await faust_fixes._fetch_records(None)  # type: ignore[arg-type]
    assert not faust_fixes.fetched_before_a_seek(batch.epochs, tp)
    state.seek(286)  # the rebalance's seek to the committed offset
    assert faust_fixes.fetched_before_a_seek(batch.epochs, tp)
    after = await faust_fixes._fetch_records(None)  # type: ignore[arg-type]
    assert not faust_fixes.fetched_before_a_seek(after.epochs, tp)


async def test_reading_on_keeps_a_batch_deliverable_and_other_partitions_are_unaffected() -> None:
    faust_fixes.apply()
    tp, other = TP("seek-test-events", 0), TP("seek-test-events", 1)
    state = _assigned(tp)
    state.reset_to(10)
    epochs = {(tp.topic, tp.partition): faust_fixes.position_epoch(tp)}
    state.consumed_to(20)  # the fetcher handing records out moves the position on
    assert not faust_fixes.fetched_before_a_seek(epochs, tp)
    assert not faust_fixes.fetched_before_a_seek(epochs, other)  # not in the batch
    _assigned(tp)  # a new assignment of the partition (a rebalance)
    assert faust_fixes.fetched_before_a_seek(epochs, tp)


def _message(tp: TP, offset: int) -> Message:
    return Message(tp.topic, tp.partition, offset, 0.0, 0, None, b"k", b"v", None, tp=tp)


def test_a_message_queued_around_a_revoke_is_stale_when_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Seen: 246 reached the stock agent's queue as the revoke cleared 243-245."""
    faust_fixes.apply()
    tp = TP("revoke-test-commands", 2)
    message = _message(tp, 246)
    faust_fixes._delivered_epochs[message] = faust_fixes.position_epoch(tp)
    assert not faust_fixes.stale(message)
    monkeypatch.setitem(faust_fixes._originals, "on_partitions_revoked", lambda self, tps: None)
    faust_fixes._revoking(None, {TopicPartition(tp.topic, tp.partition)})  # type: ignore[arg-type]
    assert faust_fixes.stale(message)


def test_a_message_set_aside_is_never_counted_as_done() -> None:
    tp = TP("revoke-test-commands", 3)
    message = _message(tp, 7)

    class Bookkeeping:
        _unacked_messages = {message}
        acked: list[Message] = []

        def ack(self, done: Message) -> bool:
            self.acked.append(done)
            return True

    consumer = Bookkeeping()
    faust_fixes.set_aside(consumer, message)
    assert not consumer._unacked_messages  # a revoke does not wait for it
    assert not message.ack(consumer)  # type: ignore[arg-type]  # Faust's later ack
    assert consumer.acked == []  # so no commit passes offset 7


def test_the_worker_consumer_delivers_only_what_was_fetched_since_the_last_seek() -> None:
    from streams.app import app

    assert app.consumer.callback.__name__ == "deliver_unless_stale"


@pytest.mark.parametrize(
    ("committed", "first", "head"),
    [(286, 0, 286), (None, 0, 0), (None, 40, 40), (0, 0, 0), (12, 30, 30)],
)
def test_a_partition_starts_at_its_commit_or_at_its_first_offset(
    committed: int | None, first: int, head: int
) -> None:
    heads = faust_fixes.partition_heads({TOPIC_PARTITION: committed}, {TOPIC_PARTITION: first})
    assert heads == {TOPIC_PARTITION: head}


@pytest.mark.parametrize(
    ("offset", "expected", "refetched", "admission"),
    [
        (93, 93, False, faust_fixes.Admission(apply=True)),
        (80, 93, False, faust_fixes.Admission(apply=True)),  # a replay: the table's protocol
        (115, 93, False, faust_fixes.Admission(apply=False, seek_to=93)),  # the test's loss
        (115, 93, True, faust_fixes.Admission(apply=True, gap=True)),  # 93-114 not in Kafka
        (115, None, False, faust_fixes.Admission(apply=False, seek_to=115)),  # head not known
    ],
)
def test_the_gate_applies_a_partition_without_a_gap(
    offset: int, expected: int | None, refetched: bool, admission: faust_fixes.Admission
) -> None:
    assert faust_fixes.admit(offset, expected, refetched) == admission


class _GatedConsumer:
    """What the gate reads of Faust's consumer: heads, generation, unacked, seek."""

    def __init__(self, head: int | None, generation: int = 1) -> None:
        self._committed_offset: defaultdict[TP, int | None] = defaultdict(lambda: None)
        self.head = head
        self.app = type("App", (), {"consumer_generation_id": generation})()
        self._unacked_messages: set[Message] = set()
        self.seeks: list[dict[TP, int]] = []

    def set_head(self, tp: TP) -> None:
        self._committed_offset[tp] = self.head

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.seeks.append(dict(partitions))
        for tp in partitions:
            faust_fixes._position_set(tp)  # a seek moves the partition's epoch


def _fetched(tp: TP, offset: int) -> Message:
    message = _message(tp, offset)
    faust_fixes._delivered_epochs[message] = faust_fixes.position_epoch(tp)
    return message


async def test_the_gate_reads_again_from_the_head_when_a_later_record_comes_first() -> None:
    """The restart of test_kill_during_expiry: committed 93, offset 115 delivered first."""
    tp = TP("gate-test-commands", 2)
    gate, consumer = faust_fixes.OffsetGate(), _GatedConsumer(head=93)
    early = _fetched(tp, 115)
    assert gate.admission(consumer, early) == faust_fixes.Admission(apply=False, seek_to=115)
    await gate.set_aside(consumer, early, 115)  # the head is not known yet: it comes again
    consumer.set_head(tp)
    late = _fetched(tp, 115)
    assert gate.admission(consumer, late) == faust_fixes.Admission(apply=False, seek_to=93)
    await gate.set_aside(consumer, late, 93)
    assert consumer.seeks[-1] == {tp: 93}
    assert faust_fixes.stale(late)  # anything queued behind it is set aside too
    for offset in range(93, 117):
        message = _fetched(tp, offset)
        assert gate.admission(consumer, message).apply, offset
        gate.applied(consumer, message)
    assert gate.expected(consumer, tp) == 117


async def test_the_gate_goes_on_over_offsets_kafka_does_not_have() -> None:
    tp = TP("gate-test-commands", 3)
    gate, consumer = faust_fixes.OffsetGate(), _GatedConsumer(head=10)
    consumer.set_head(tp)
    first = _fetched(tp, 12)
    await gate.set_aside(consumer, first, 10)
    again = _fetched(tp, 12)  # read again from 10: 10 and 11 do not exist
    assert gate.admission(consumer, again) == faust_fixes.Admission(apply=True, gap=True)


def test_what_the_gate_applied_counts_only_in_its_generation() -> None:
    tp = TP("gate-test-commands", 4)
    gate, consumer = faust_fixes.OffsetGate(), _GatedConsumer(head=50)
    consumer.set_head(tp)
    gate.applied(consumer, _fetched(tp, 50))
    assert gate.expected(consumer, tp) == 51
    consumer.app.consumer_generation_id = 2  # a rebalance: the head says again
    consumer._committed_offset[tp] = 40
    assert gate.expected(consumer, tp) == 40


def test_a_record_a_test_put_in_is_not_gated() -> None:
    tp = TP("gate-test-commands", 5)
    assert faust_fixes.OffsetGate().admission(_GatedConsumer(head=None), _message(tp, 9)).apply


async def test_a_partition_revoked_before_its_seek_back_is_left_to_its_next_owner() -> None:
    from aiokafka.errors import IllegalStateError

    tp = TP("gate-test-commands", 6)

    class Revoked(_GatedConsumer):
        async def seek_wait(self, partitions: dict[TP, int]) -> None:
            raise IllegalStateError("not assigned")

    gate, consumer = faust_fixes.OffsetGate(), Revoked(head=3)
    consumer.set_head(tp)
    message = _fetched(tp, 5)
    consumer._unacked_messages.add(message)
    await gate.set_aside(consumer, message, 3)
    assert not consumer._unacked_messages and message.acked  # and never counted as done


async def test_the_gate_sets_a_stale_record_aside_without_a_seek_of_its_own() -> None:
    """Fix 5's case: the seek that brings it again has been made already."""
    tp = TP("gate-test-commands", 7)
    gate, consumer = faust_fixes.OffsetGate(), _GatedConsumer(head=20)
    consumer.set_head(tp)
    message = _fetched(tp, 20)
    faust_fixes._position_set(tp)  # a seek after it was fetched
    consumer._unacked_messages.add(message)
    assert gate.admission(consumer, message) == faust_fixes.Admission(apply=False)
    await gate.set_aside(consumer, message, None)
    assert consumer.seeks == [] and not consumer._unacked_messages


def _consumer_thread_holding(assignment: Assignment) -> SimpleNamespace:
    """Faust's consumer thread, as far as fix 7 looks into it."""
    consumer = SimpleNamespace(
        _subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))
    )
    return SimpleNamespace(_ensure_consumer=lambda: consumer)


def _records(*offsets: int) -> list[SimpleNamespace]:
    return [SimpleNamespace(offset=offset) for offset in offsets]


async def test_a_restore_ends_on_a_commit_marker_once_every_record_handed_out_is_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The changelog holds records 0-9 and a marker at 10: Faust's highwater is 10,
    a record no restore is ever given."""
    faust_fixes.apply()
    tp = TP("restore-test-changelog", 0)
    assignment = Assignment([TopicPartition(tp.topic, tp.partition)])
    state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
    state.reset_to(0)
    thread = _consumer_thread_holding(assignment)
    handed: dict[TP, list[SimpleNamespace]] = {tp: _records(*range(10))}

    async def fetched(*args: object, **kwargs: object) -> dict[TP, list[SimpleNamespace]]:
        state.consumed_to(11)  # the fetcher steps over the marker
        return handed

    monkeypatch.setitem(faust_fixes._originals, "fetch_records", fetched)
    await faust_fixes._fetch_records(thread)  # type: ignore[arg-type]
    assert not faust_fixes.restored_to_end(tp, highwater=10, applied=5)  # 6-9 still queued
    assert faust_fixes.restored_to_end(tp, highwater=10, applied=9)
    assert not faust_fixes.restored_to_end(tp, highwater=11, applied=9)  # not read past it
    handed = {}  # a later fetch hands nothing out: what was handed out still counts
    await faust_fixes._fetch_records(thread)  # type: ignore[arg-type]
    assert not faust_fixes.restored_to_end(tp, highwater=10, applied=5)
    state.seek(0)  # a new restore of the partition: nothing handed out under it yet
    assert not faust_fixes.restored_to_end(tp, highwater=10, applied=9)


async def test_a_restore_of_only_aborted_writes_ends_when_read_past_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A crashed owner's transaction, aborted: records 0-4 and the abort marker at 5,
    none of them given to a read_committed consumer."""
    faust_fixes.apply()
    tp = TP("restore-test-changelog", 1)
    assignment = Assignment([TopicPartition(tp.topic, tp.partition)])
    state = assignment.state_value(TopicPartition(tp.topic, tp.partition))
    state.reset_to(0)

    async def fetched(*args: object, **kwargs: object) -> dict[TP, list[SimpleNamespace]]:
        state.consumed_to(6)
        return {}

    monkeypatch.setitem(faust_fixes._originals, "fetch_records", fetched)
    await faust_fixes._fetch_records(_consumer_thread_holding(assignment))  # type: ignore[arg-type]
    assert faust_fixes.restored_to_end(tp, highwater=5, applied=None)


async def test_faust_commits_offsets_only_after_the_hooks_before_its_flush(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    faust_fixes.apply()
    done: list[str] = []

    async def commit_changelog() -> None:
        done.append("changelog committed")

    async def flush(self: object) -> None:
        done.append("producer flushed")

    monkeypatch.setitem(faust_fixes._originals, "producer_flush", flush)
    monkeypatch.setattr(faust_fixes, "before_flush", [commit_changelog])
    await faust_fixes._flush(None)  # type: ignore[arg-type]
    assert done == ["changelog committed", "producer flushed"]


def test_worker_consumers_read_committed() -> None:
    faust_fixes.apply()
    consumer = SimpleNamespace()
    original = faust_fixes._originals["create_consumer"]
    try:
        faust_fixes._originals["create_consumer"] = lambda thread, transport: consumer
        faust_fixes._create_worker_consumer(None, None)  # type: ignore[arg-type]
    finally:
        faust_fixes._originals["create_consumer"] = original
    assert consumer._isolation_level == "read_committed"


def test_a_store_is_ahead_only_past_the_changelogs_last_offset() -> None:
    assert faust_fixes.store_is_ahead(persisted=3494, highwater=-1)  # the changelog made again
    assert faust_fixes.store_is_ahead(persisted=3494, highwater=0)  # Faust skipped this one
    assert not faust_fixes.store_is_ahead(persisted=3494, highwater=3494)
    assert not faust_fixes.store_is_ahead(persisted=10, highwater=3494)  # behind: a restore
    assert not faust_fixes.store_is_ahead(persisted=None, highwater=-1)  # nothing stored
    assert not faust_fixes.store_is_ahead(persisted=5, highwater=None)  # not known yet
