"""Every workaround of Faust's, mode's and aiokafka's internals, applied in one place.

``apply()`` is called once by streams/app.py before the app is built; it refuses
to run on library versions other than the ones these fixes were read against,
because each fix replaces or wraps a private method. Why each is needed:

1. **Queues kept on a repeated resume** (mode ``FlowControlEvent.resume``).
   ``resume`` empties every agent's input queue. Faust means that for the end of a
   rebalance, when the consumer has just been seeked back to the committed offsets.
   But a worker with nothing to restore resumes twice (when it finds nothing to
   restore, then after seeking the streams), and messages fetched between the two
   were thrown away although the consumer had read past them: never processed,
   never committed past (seen after a ``kill -9``: payment requests never charged).
   The queues are now emptied only when flow really was suspended.

2. **A fetch wait of 20-40 ms** (Faust's aiokafka driver hard-codes ``fetch_max_wait_ms=1500``).
   aiokafka leaves a partition whose records are still being processed out of the
   next fetch; with one busy partition (a flash sale of one product) that request
   names only idle partitions and the broker holds it for the full wait, so new
   commands waited 1.5 s (p99 time-to-decision 1.6 s). The same place sets the
   fetch's minimum size, which Faust does not expose either, and ``_fetch_records``
   moves both with the rate of records (streams/fetching.py, ``FetchSizing``), and
   the app's producer lingers while they come fast (streams/producer_linger.py).

3. **A commit never passes an unprocessed message** (faust ``Consumer._new_offset``;
   upstream faust-streaming PR #707). Faust commits the first run of acked offsets
   of a partition. Its guard against a hole at the head lets through a hole of
   exactly one message (``min(acked) - committed > 1``) and is skipped altogether
   when the partition's committed offset is unknown or 0 (a new consumer group), so
   a message dropped during a rebalance was committed past and never decided (seen:
   64 acknowledged orders at the heads of a new group's partitions). Here a
   partition commits only a run that starts exactly at its committed offset;
   offsets acked again below it (a message delivered before and after the seek of
   a rebalance) are dropped, or they would hold every later commit back; and a
   head that stays unacked while later offsets are done is logged.

4. **Every assigned partition starts at its head** (faust ``Consumer.perform_seek``).
   Faust records no committed offset for a partition without one, and turns a
   committed 0 into "unknown"; aiokafka's ``seek_to_committed`` does not seek such a
   partition at all, so it stays wherever the fetcher was, which can be past
   records fetched and thrown away while the flow was suspended (seen: 64
   acknowledged orders at the heads of a new group's partitions). Here every
   partition of an agent's topic is seeked to its head: the committed offset, or
   the partition's first offset when there is none (or it was deleted), and that
   head is what fix 3 compares with.

5. **Nothing fetched before a seek is delivered after it** (faust
   ``Consumer._drain_messages``). Faust runs aiokafka in a thread of its own, so a
   batch fetched *before* the seek of a rebalance can reach the agents *after* it,
   once the flow resumes. Seen in the rebalance soak: a worker taking over a
   partition whose owner was killed had fetched (and, flow suspended, dropped)
   offsets 286-401, then fetched 402; it seeked back to the committed 286, and
   then delivered 402 before 286. The stock agent decided 402, and 305-401
   arrived with the product already past them: taken as replays, never decided
   (97 acknowledged orders). Faust's own filter ("DROPPED MESSAGE ROFF": drop an
   offset below the last delivered one) does the opposite harm: it dropped the
   re-fetched head while later records went through. Both give way to one rule:
   every time a partition's position is set (a seek, a reset, a new assignment)
   its *position epoch* goes up, in the consumer's thread; each fetched batch
   carries the epochs it was fetched under, taken in that thread the moment the
   records left the fetcher; a record whose partition's epoch has moved since is
   not delivered. Nothing is lost by it: the position was set at or below it, so
   the fetcher reads it again, after the seek, in order.
   A revoke raises the epochs of the revoked partitions too (first thing, in the
   rebalance listener), and a delivered message remembers the epoch it was fetched
   under: a message that reached an agent's queue around a revoke (Faust clears the
   queues, but a delivery in flight can land just after; seen: offset 246 decided
   before 243-245) is ``stale`` when the agent takes it, and an agent that needs
   offset order (the stock agent) ``set_aside``s it, unprocessed and unacknowledged,
   to meet it again after the seek.

6. **The stock agent applies each partition without a gap** (``OffsetGate``). Fix 5
   keeps a record fetched before a seek from being decided after it, but a record
   can still reach the stock agent with records below it neither decided nor
   coming: seen twice in the suite (test_kill_during_expiry, once in CI),
   a restarted worker decided offset 115 of a partition, the first record after its
   committed 93, and 93-114 arrived after it, taken as replays, never decided (10
   acknowledged orders). Whatever drops them (a race around the start-up seek), the
   gate does not depend on it: per partition it knows the next offset the agent may
   apply (one past the last it applied in this generation, or the committed head
   of fix 4), applies records at or below it (below it is a replay, which the
   stock table's protocol makes harmless), and sets aside a record above it,
   seeking the partition back to the expected offset so the missing records are
   read again, in order. A record that comes while the head is not known yet (the
   start-up seek still running) is set aside and its partition seeked to it, so it
   comes again once the head is known. If the seek back finds the same gap (the
   offsets do not exist in Kafka), the record is applied and the gap logged.

7. **The stock table's changelog read committed** (tables/stock_transactions.py).
   The stock agent writes the changelog in Kafka transactions, one transactional
   producer per partition, so a worker that lost its partitions (a zombie) has its
   late writes refused and aborted. Every worker consumer reads ``read_committed``
   (Faust sets it only in its own exactly_once mode, which this project does not
   use: see topology.md), so a restore or a standby never applies an aborted write.
   A transaction leaves a commit marker after its records, an offset no consumer
   is given, so a restore's last record sits below Faust's highwater (``end - 1``),
   and Faust's recovery, outside exactly_once, would wait for it until its aborted-
   transaction guess gives up (10 s and more): a partition whose fetcher has read
   past the highwater, with every record it handed out applied, counts as
   restored. And Faust's producer flush, which its offset commit waits for, first
   runs ``before_flush`` (the changelog's open transactions are committed there), so
   no offset is committed past a write still in an open transaction.
   When a transactional producer's sender meets the fencing first (a zombie thawed
   with batches to send), aiokafka ends the sender with ``ProducerFenced`` and
   refuses every later send with ``IllegalOperation`` ("not in transaction"): the
   worker's fail-stop names the fencing from the sender's exception
   (``sender_failure``; seen once in the zombie test, which expected the fencing).

8. **A local store ahead of its changelog is discarded** (faust
   ``Recovery._build_offsets``). A partition's store names the changelog offset it
   holds everything up to (tables/local_store.py). One that names an offset past the
   changelog's end was not written from this changelog: the topic was deleted and
   made again, or Kafka's data wiped, while the worker's data folder stayed (seen:
   a bench run reusing an earlier run's folder). Faust raised ``ConsistencyError``
   and the worker died at every start with a traceback (and skipped the check when
   the changelog's last offset was 0, restoring nothing onto the foreign store).
   Here that partition's database is deleted, with a warning, and restored from
   the changelog alone, which is the table's truth.
"""

from __future__ import annotations

import functools
import logging
import shutil
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from aiokafka.consumer.subscription_state import Assignment, TopicPartitionState
from aiokafka.errors import IllegalStateError
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer, ensure_TP
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, ConsumerRebalanceListener
from faust.transport.drivers.aiokafka import Producer as FaustProducer
from faust.types import TP
from mode.utils.queues import FlowControlEvent

from streams.fetching import QUIET_MAX_WAIT_MS, QUIET_MIN_BYTES, FetchSizing
from streams.producer_linger import linger_while_busy

log = logging.getLogger(__name__)

# The versions whose internals these fixes were read against (rocksdict: the stock
# store writes Faust's RocksDB databases directly, tables/stock_store.py).
EXPECTED_VERSIONS = {
    "faust": "0.15.3",
    "mode": "0.7.1",
    "aiokafka": "0.14.0",
    "rocksdict": "0.3.29",
}
# Distribution names where they differ from the module's.
_DISTRIBUTIONS = {"faust": "faust-streaming", "mode": "mode-streaming"}

_originals: dict[str, Any] = {}


def installed_versions() -> dict[str, str]:
    return {name: version(_DISTRIBUTIONS.get(name, name)) for name in EXPECTED_VERSIONS}


def apply() -> None:
    """Install every fix (idempotent); refuse unexpected library versions."""
    versions = installed_versions()
    if versions != EXPECTED_VERSIONS:
        raise RuntimeError(
            f"streams/faust_fixes.py was written for {EXPECTED_VERSIONS}, found {versions}:"
            " check each fix against the new code before changing EXPECTED_VERSIONS"
        )
    if _originals:
        return
    _originals["create_consumer"] = AIOKafkaConsumerThread._create_worker_consumer
    _originals["consumer_init"] = Consumer.__init__
    FlowControlEvent.resume = _resume  # type: ignore[method-assign]
    AIOKafkaConsumerThread._create_worker_consumer = _create_worker_consumer  # type: ignore[method-assign]
    Consumer._new_offset = _new_offset  # type: ignore[method-assign]
    Consumer.perform_seek = _perform_seek  # type: ignore[method-assign]
    Consumer.__init__ = _consumer_init  # type: ignore[method-assign]
    _originals["assignment_init"] = Assignment.__init__
    _originals["fetch_records"] = AIOKafkaConsumerThread._fetch_records
    _originals["wait_next_records"] = Consumer._wait_next_records
    Assignment.__init__ = _assignment_init
    for name in ("seek", "reset_to", "await_reset"):
        setattr(TopicPartitionState, name, _setting_position(name))
    AIOKafkaConsumerThread._fetch_records = _fetch_records  # type: ignore[method-assign]
    Consumer._wait_next_records = _wait_next_records  # type: ignore[method-assign]
    _originals["on_partitions_revoked"] = ConsumerRebalanceListener.on_partitions_revoked
    ConsumerRebalanceListener.on_partitions_revoked = _revoking  # type: ignore[method-assign]
    _originals["active_remaining"] = Recovery.active_remaining
    Recovery.active_remaining = _active_remaining  # type: ignore[method-assign]
    _originals["producer_flush"] = FaustProducer.flush
    FaustProducer.flush = _flush  # type: ignore[method-assign]
    _originals["build_offsets"] = Recovery._build_offsets
    Recovery._build_offsets = _build_offsets  # type: ignore[method-assign]


# 1. Queues kept on a repeated resume.
def _resume(self: FlowControlEvent) -> None:
    was_suspended = self._suspend.is_set()
    self._suspend.clear()
    self._resume.set()
    if was_suspended:
        self.clear()


# 2. A fetch wait of 20-40 ms.
def _create_worker_consumer(self: AIOKafkaConsumerThread, transport: Any) -> Any:
    consumer = _originals["create_consumer"](self, transport)
    # Read by AIOKafkaConsumer.start() when it builds its Fetcher (aiokafka 0.14).
    consumer._fetch_max_wait_ms = QUIET_MAX_WAIT_MS
    consumer._fetch_min_bytes = QUIET_MIN_BYTES  # then by the rate (_fetch_records)
    # 7. Read the same way; aborted writes (a fenced zombie's) are never given.
    consumer._isolation_level = "read_committed"
    return consumer


# 3. A commit never passes an unprocessed message.
def committable_run(acked: list[int], committed: int | None) -> list[int]:
    """The acked offsets that may be committed: the run starting at ``committed``.

    ``acked`` is sorted and holds nothing below ``committed``. Nothing when the
    head is unknown or not acked yet: a message below the run may not have been
    processed.
    """
    if committed is None or not acked or acked[0] != committed:
        return []
    end = 1
    while end < len(acked) and acked[end] == acked[end - 1] + 1:
        end += 1
    return acked[:end]


def below(acked: list[int], committed: int | None) -> list[int]:
    """Acked offsets already committed: a message delivered again around a rebalance
    (fetched before and after the seek to the committed offset), acked while the
    partition's committed offset was not known yet. Left in place they would stand
    at the head and hold every later commit back."""
    return [] if committed is None else [offset for offset in acked if offset < committed]


def _new_offset(self: Consumer, tp: TP) -> int | None:
    acked = self._acked[tp]
    if not acked:
        return None
    gaps = self._gap[tp]
    if gaps:
        # Offsets Kafka never delivers (transaction markers, compaction) count as done,
        # as in Faust's own version; none of this project's source topics has any.
        highest = max(acked)
        for gap in sorted(gaps.overlap(0, highest), key=lambda g: g.begin):
            acked.extend(range(gap.begin, gap.end))
        gaps.chop(0, max(acked) + 1)
    committed = self._committed_offset[tp]
    done = set(below(acked, committed))
    acked[:] = sorted(set(acked) - done)
    self._acked_index[tp].difference_update(done)
    run = committable_run(acked, committed)
    if not run:
        _report_hole(tp, committed, acked)
        return None
    _holes.pop(tp, None)
    del acked[: len(run)]
    self._acked_index[tp].difference_update(run)
    return run[-1] + 1


# When each partition's commit began to wait for its head; a long wait is logged once.
_holes: dict[TP, tuple[int | None, float]] = {}
HOLE_REPORT_SECONDS = 10.0


def _report_hole(tp: TP, committed: int | None, acked: list[int]) -> None:
    """A head that stays unacked while later offsets are done means a message was
    dropped without being processed: say so (the commit waits for it, safely). A
    partition without a head is not this worker's any more (fix 4 gives every assigned
    one a head): its late acks are left-overs, not a hole."""
    if committed is None:
        return
    now = time.monotonic()
    since = _holes.setdefault(tp, (committed, now))
    if since[0] != committed:
        _holes[tp] = (committed, now)
    elif since[1] >= 0 and now - since[1] > HOLE_REPORT_SECONDS:
        log.warning(
            "%s: offset %s not acknowledged for %.0fs while %d later ones are;"
            " its commit waits for it",
            tp,
            committed,
            now - since[1],
            len(acked),
        )
        _holes[tp] = (committed, -1.0)  # once per hole


# 4. Every assigned partition starts at its head.
async def _perform_seek(self: Consumer) -> None:
    seeked: Mapping[Any, int | None] = await self.seek_to_committed()
    committed = {ensure_TP(tp): offset for tp, offset in seeked.items()}
    for tp, offset in committed.items():
        self._committed_offset[tp] = offset if offset is not None and offset >= 0 else None
    gated = {
        tp: offset for tp, offset in committed.items() if self.app.topics.acks_enabled_for(tp.topic)
    }
    firsts = await self.earliest_offsets(*gated) if gated else {}
    heads = partition_heads(gated, firsts)
    # aiokafka seeks only partitions committed above 0; the others are seeked here.
    unseeked = {tp: head for tp, head in heads.items() if not 0 < head == gated[tp]}
    if unseeked:
        await self.seek_wait(unseeked)
    self._committed_offset.update(heads)


def partition_heads(committed: Mapping[TP, int | None], firsts: Mapping[TP, int]) -> dict[TP, int]:
    """Where each partition starts: its committed offset, or its first offset when it
    has none or the committed one no longer exists."""
    heads = {}
    for tp, offset in committed.items():
        first = firsts.get(tp, 0)
        heads[tp] = first if offset is None or offset < first else offset
    return heads


# 5. Nothing fetched before a seek is delivered after it.
class NoReadOffsets(dict[TP, int | None]):
    """Faust's last-read offsets, always unknown: its filter is off, no gap guessed."""

    def __getitem__(self, tp: TP) -> None:
        return None

    def __setitem__(self, tp: TP, offset: int | None) -> None:
        pass

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


# How many times each partition's position was set other than by reading on. Written
# in the consumer's thread only; read by the event loop (one dict lookup, atomic).
_position_epochs: dict[tuple[str, int], int] = {}


def position_epoch(tp: tuple[str, int]) -> int:
    return _position_epochs.get((tp[0], tp[1]), 0)


def _position_set(tp: tuple[str, int] | None) -> None:
    if tp is not None:
        key = (tp[0], tp[1])
        _position_epochs[key] = _position_epochs.get(key, 0) + 1


def _assignment_init(self: Assignment, topic_partitions: Any) -> None:
    _originals["assignment_init"](self, topic_partitions)
    for tp, state in self._tp_state.items():
        state._partition = tp  # TopicPartitionState does not know its partition
        _position_set(tp)


def _setting_position(name: str) -> Any:
    original = getattr(TopicPartitionState, name)
    _originals[f"state_{name}"] = original

    def set_position(self: TopicPartitionState, *args: Any) -> None:
        original(self, *args)
        _position_set(getattr(self, "_partition", None))

    return set_position


class FetchedRecords(dict[Any, Any]):
    """A fetched batch, with each partition's position epoch when it was fetched."""

    epochs: dict[tuple[str, int], int]


async def _fetch_records(self: AIOKafkaConsumerThread, *args: Any, **kwargs: Any) -> Any:
    records = await _originals["fetch_records"](self, *args, **kwargs)
    # No await between the fetcher handing the records out and this line: no seek
    # can come in between.
    fetched = FetchedRecords(records)
    fetched.epochs = {(tp[0], tp[1]): position_epoch(tp) for tp in records}
    _note_handed_out(self, records)
    _size_fetches(self, records)
    return fetched


def _size_fetches(thread: AIOKafkaConsumerThread, records: Mapping[Any, list[Any]]) -> None:
    """2. The fetch minimum follows the rate of records handed out, and so does the
    linger of the app's producer (streams/producer_linger.py)."""
    consumer = getattr(thread, "_consumer", None)
    if consumer is not None:
        sizing = consumer.__dict__.get("_fetch_sizing")
        if sizing is None:
            linger = functools.partial(_linger_app_producer, thread.app)
            sizing = consumer.__dict__["_fetch_sizing"] = FetchSizing(on_change=linger)
        sizing.handed_out(consumer, sum(len(batch) for batch in records.values()))


def _linger_app_producer(app: Any, busy: bool) -> None:
    # Told in the consumer's thread; the producer reads the float on its own loop.
    linger_while_busy(getattr(app.producer, "_producer", None), busy)


async def _wait_next_records(self: Consumer, timeout: float) -> Any:
    records, active_partitions = await _originals["wait_next_records"](self, timeout)
    # Faust's fetch loop delivers one batch at a time: the messages it delivers next
    # are this batch's.
    self._fetched_epochs = getattr(records, "epochs", {})  # type: ignore[attr-defined]
    return records, active_partitions


# The epoch each delivered message was fetched under (forgotten with the message).
_delivered_epochs: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()


def _revoking(self: ConsumerRebalanceListener, revoked: Any) -> Any:
    for tp in revoked:
        _position_set(tp)
    return _originals["on_partitions_revoked"](self, revoked)


def stale(message: Any) -> bool:
    """Was the message fetched before its partition's latest seek, revoke or assignment?"""
    fetched = _delivered_epochs.get(message)
    return _moved_since(fetched, message.tp)


def set_aside(consumer: Any, message: Any) -> None:
    """Leave a stale message as if it had never been delivered: not counted as done
    (no commit passes it; its offset comes again after the seek) and not waited for."""
    message.acked = True  # Faust's own ack of it is then a no-op
    consumer._unacked_messages.discard(message)


def fetched_before_a_seek(fetched_epochs: Mapping[tuple[str, int], int], tp: TP) -> bool:
    return _moved_since(fetched_epochs.get((tp[0], tp[1])), tp)


def _moved_since(fetched: int | None, tp: tuple[str, int]) -> bool:
    """Was the position of ``tp`` set again since the epoch a record was fetched under?"""
    return fetched is not None and fetched != position_epoch(tp)


def _consumer_init(self: Consumer, *args: Any, **kwargs: Any) -> None:
    _originals["consumer_init"](self, *args, **kwargs)
    self._read_offset = NoReadOffsets()
    self._fetched_epochs = {}  # type: ignore[attr-defined]
    deliver = self.callback
    stale_since_seek: dict[TP, int] = {}

    async def deliver_unless_stale(message: Any) -> None:
        tp = message.tp
        fetched = self._fetched_epochs.get((tp[0], tp[1]))  # type: ignore[attr-defined]
        if _moved_since(fetched, tp):  # fetched_before_a_seek, one lookup a message
            if tp not in stale_since_seek:
                log.info("%s: offset %s was fetched before a seek; read again", tp, message.offset)
            stale_since_seek[tp] = position_epoch(tp)
            return
        stale_since_seek.pop(tp, None)
        if fetched is not None:
            _delivered_epochs[message] = fetched
        await deliver(message)

    self.callback = deliver_unless_stale


# 6. The stock agent applies each partition without a gap.
@dataclass(frozen=True)
class Admission:
    """What to do with a record: apply it, or set it aside (and seek to ``seek_to``,
    unless a seek that brings it again has already been made: a stale record)."""

    apply: bool
    seek_to: int | None = None
    gap: bool = False  # applied although records below it never came (logged)


def admit(offset: int, expected: int | None, refetched_gap: bool) -> Admission:
    """The gate's rule. ``expected``: the next offset the agent may apply (None: not
    known yet); ``refetched_gap``: the record was read again after a seek back to
    ``expected`` and is still above it, so the offsets between do not exist."""
    if expected is None:
        return Admission(apply=False, seek_to=offset)
    if offset <= expected:
        return Admission(apply=True)
    if refetched_gap:
        return Admission(apply=True, gap=True)
    return Admission(apply=False, seek_to=expected)


class OffsetGate:
    """Per partition, the next offset the stock agent may apply (fix 6)."""

    def __init__(self) -> None:
        self._applied: dict[TP, tuple[int, int]] = {}  # tp -> (generation, offset)
        self._gap_seeks: dict[TP, tuple[int, int]] = {}  # tp -> (expected, epoch after)

    def expected(self, consumer: Any, tp: TP) -> int | None:
        head = consumer._committed_offset.get(tp)
        applied = self._applied.get(tp)
        if applied is None or applied[0] != consumer.app.consumer_generation_id:
            return head
        return max(applied[1] + 1, head or 0)

    def admission(self, consumer: Any, message: Any) -> Admission:
        fetched = _delivered_epochs.get(message)
        if fetched is None:
            return Admission(apply=True)  # not fetched by the consumer: put by a test
        tp = message.tp
        if stale(message):  # fix 5: fetched before its partition's last seek
            return Admission(apply=False)
        expected = self.expected(consumer, tp)
        gap_seek = self._gap_seeks.get(tp)
        refetched = gap_seek is not None and gap_seek[0] == expected and fetched >= gap_seek[1]
        return admit(message.offset, expected, refetched)

    async def set_aside(self, consumer: Any, message: Any, seek_to: int | None) -> None:
        """Set the record aside; read its partition again from ``seek_to`` if given."""
        set_aside(consumer, message)
        if seek_to is None:
            return
        tp = message.tp
        expected = self.expected(consumer, tp)
        if expected is None:  # routine around a start-up or rebalance seek
            log.info("%s: offset %s came before the head was known; reading it again", tp, seek_to)
        else:
            log.warning(
                "%s: offset %s came while %s is the next to apply; reading again from it",
                tp,
                message.offset,
                expected,
            )
        try:
            await consumer.seek_wait({tp: seek_to})
        except IllegalStateError:
            # Revoked meanwhile: its next owner reads it from the committed offset, which
            # cannot have passed a record set aside.
            log.info("%s: revoked before it could be read again", tp)
            return
        self._gap_seeks[tp] = (seek_to, position_epoch(tp))

    def applied(self, consumer: Any, message: Any) -> None:
        tp = message.tp
        generation = consumer.app.consumer_generation_id
        before = self._applied.get(tp)
        if before is None or before[0] != generation or before[1] < message.offset:
            self._applied[tp] = (generation, message.offset)


offset_gate = OffsetGate()


# 7. The stock table's changelog read committed.
# tp -> (position epoch, the fetcher's position, offset of the last record handed out
# under that epoch or None), written in the consumer's thread as each fetch hands
# records out, so a position and the records it covers are taken together.
_handed: dict[tuple[str, int], tuple[int, int, int | None]] = {}


def _note_handed_out(thread: Any, records: Mapping[Any, Any]) -> None:
    try:
        states = thread._ensure_consumer()._subscription.subscription.assignment._tp_state
    except Exception:  # no consumer or no assignment (a rebalance): nothing to note
        return
    for tp, state in list(states.items()):
        if not state.has_valid_position:
            continue
        key = (tp[0], tp[1])
        epoch = position_epoch(tp)
        before = _handed.get(key)
        last = before[2] if before is not None and before[0] == epoch else None
        batch = records.get(tp)
        if batch:
            last = batch[-1].offset
        _handed[key] = (epoch, state.position, last)


def restored_to_end(tp: tuple[str, int], highwater: int, applied: int | None) -> bool:
    """Has a restore of ``tp`` applied everything up to Faust's ``highwater`` (end - 1),
    where the last offsets may be commit markers that no record stands at? Yes once
    the fetcher has read past the highwater and every record it handed out under the
    partition's current position epoch is applied."""
    handed = _handed.get((tp[0], tp[1]))
    if handed is None or handed[0] != position_epoch(tp) or handed[1] <= highwater:
        return False
    last = handed[2]
    return last is None or (applied is not None and applied >= last)


def _active_remaining(self: Recovery) -> Any:
    remaining = _originals["active_remaining"](self)
    for tp, count in list(remaining.items()):
        highwater = self.active_highwaters.get(tp)
        applied = self.active_offsets.get(tp)
        if count > 0 and highwater is not None and restored_to_end(tp, highwater, applied):
            remaining[tp] = 0
    return remaining


def sender_failure(producer: Any) -> BaseException | None:
    """The exception that ended an aiokafka producer's sender task, if one did (0.14:
    ``Sender._fail_all`` then puts the transaction manager in its fatal state)."""
    task = getattr(getattr(producer, "_sender", None), "sender_task", None)
    if task is None or not task.done() or task.cancelled():
        return None
    failure: BaseException | None = task.exception()
    return failure


# Coroutines run before Faust's producer flushes: the changelog's transaction commits.
before_flush: list[Callable[[], Awaitable[None]]] = []


async def _flush(self: FaustProducer) -> None:
    for hook in list(before_flush):
        await hook()
    await _originals["producer_flush"](self)


# 8. A local store ahead of its changelog is discarded.
def store_is_ahead(persisted: int | None, highwater: int | None) -> bool:
    """Does a store that holds the changelog up to ``persisted`` claim more than the
    changelog has (Faust's ``highwater``: its last offset, -1 when it is empty)?"""
    return persisted is not None and highwater is not None and persisted > highwater


async def _build_offsets(
    self: Recovery, consumer: Any, tps: set[TP], destination: Any, title: str
) -> None:
    await _originals["build_offsets"](self, consumer, tps, destination, title)
    if title != "active":  # the highwaters compared with are the actives' (built first)
        return
    for tp in tps:
        table = self.tables._changelogs.get(tp.topic)
        store = getattr(table, "data", None)
        if table is None or not hasattr(store, "_dbs"):  # only RocksDB keeps a store
            continue
        persisted, highwater = table.persisted_offset(tp), self.active_highwaters.get(tp)
        if not store_is_ahead(persisted, highwater):
            continue
        log.warning(
            "table %s partition %d: the local store holds the changelog up to offset %d,"
            " but the changelog ends at %d: the store was not written from this changelog"
            " (deleted and made again, or Kafka's data wiped); restoring the partition"
            " from the changelog alone",
            table.name,
            tp.partition,
            persisted,
            highwater,
        )
        _delete_partition_db(store, tp.partition)
        earliest = (await consumer.earliest_offsets(tp)).get(tp)
        destination[tp] = -1 if earliest is None else earliest - 1  # as Faust counts it


def _delete_partition_db(store: Any, partition: int) -> None:
    """Close and delete a partition's RocksDB database; Faust opens a new, empty one
    at its next use (``_db_for_partition``)."""
    database = store._dbs.pop(partition, None)
    if database is not None:
        database.close()
    shutil.rmtree(store.partition_path(partition), ignore_errors=True)
    store._key_index.clear()  # which partition holds a key: some were in this one
