"""The API's Kafka producer: idempotent, acks=all, and honest about outages.

``send`` returns only once every in-sync replica has the record; if Kafka cannot
take it in time, it raises ``KafkaUnavailable`` so the API answers 503 instead of
acknowledging something that was not stored. The producer (re)connects lazily,
so the API starts, and reports not-ready, while Kafka is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0


class KafkaUnavailable(Exception):
    """Kafka did not acknowledge the record; it may or may not have been stored."""


class CommandProducer:
    def __init__(
        self, bootstrap: str, on_sent: Callable[[float, bool], None] | None = None
    ) -> None:
        """``on_sent(seconds, ok)`` is told how long each send took and whether Kafka
        acknowledged it (the API's produce-latency metric)."""
        self._bootstrap = bootstrap
        self._on_sent = on_sent
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._stopping: set[asyncio.Task[None]] = set()

    async def _started(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap,
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=1,
                    request_timeout_ms=int(SEND_TIMEOUT_SECONDS * 1000),
                )
                try:
                    await producer.start()
                except (KafkaError, OSError) as exc:
                    await producer.stop()
                    raise KafkaUnavailable(str(exc)) from exc
                self._producer = producer
        return self._producer

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        producer = None
        began = time.perf_counter()
        try:
            producer = await self._started()
            await asyncio.wait_for(
                producer.send_and_wait(topic, value=value, key=key), SEND_TIMEOUT_SECONDS
            )
        except (KafkaError, OSError, TimeoutError) as exc:
            if producer is not None:
                self._discard(producer)
            self._report(began, ok=False)
            raise KafkaUnavailable(str(exc) or type(exc).__name__) from exc
        self._report(began, ok=True)

    def _report(self, began: float, ok: bool) -> None:
        if self._on_sent is not None:
            self._on_sent(time.perf_counter() - began, ok)

    def _discard(self, producer: AIOKafkaProducer) -> None:
        """Replace a producer that failed a send; the next send starts a new one.

        After a broker restart, batches that timed out leave gaps in the idempotent
        producer's sequence numbers: the broker then refuses every later batch
        (OutOfOrderSequenceNumber, which also ends aiokafka's sender task), so the
        old producer would never send again. A new producer has a new producer id.

        The old one is abandoned, not flushed: an idempotent aiokafka producer retries
        a batch until it succeeds, so a record already answered 503 would otherwise
        be stored once Kafka is back, unknown to its client. What it still holds
        fails at once (503 for those requests too); only a request already at the
        broker when it failed can have been stored.
        """
        if self._producer is not producer:
            return  # another request already replaced it
        self._producer = None
        task = asyncio.create_task(self._abandon(producer))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)

    @staticmethod
    async def _abandon(producer: AIOKafkaProducer) -> None:
        # aiokafka 0.14 has no public abort: cancel its sender task (no more
        # sends), then fail every batch it holds, then close its connections.
        sender = getattr(producer, "_sender", None)
        batches = getattr(producer, "_message_accumulator", None)
        try:
            if sender is not None and batches is not None:
                with contextlib.suppress(asyncio.CancelledError):  # its task's, not ours
                    await sender.close()
                batches.fail_all(KafkaError("producer abandoned after a failed send"))
            await producer.stop()
        except Exception as exc:  # it failed already; nothing is waiting on it
            log.warning("a discarded Kafka producer did not stop cleanly: %s", exc)

    async def ping(self) -> bool:
        """True if a broker answers a metadata request now."""
        try:
            producer = await self._started()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), 2.0)
        except (KafkaUnavailable, KafkaError, OSError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
        await asyncio.gather(*self._stopping)
