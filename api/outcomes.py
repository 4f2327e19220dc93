"""How an API instance learns the decisions on its own orders, without polling.

Each instance reads every partition of ``order-events`` from the end, outside
any consumer group (so two instances each see every event), and resolves the
futures of requests waiting with ``Prefer: wait``. A request registers its
future before it produces the command, so the event cannot arrive unseen. It also
tells this process's count of units in flight (api/units_in_flight.py) of every
decision on an order it counts and of every reservation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from api import jsons
from api.background_tasks import stop_tasks
from api.units_in_flight import UnitsInFlight
from streams.fetching import QUIET_MAX_WAIT_MS, QUIET_MIN_BYTES, FetchSizing

log = logging.getLogger(__name__)

Event = dict[str, Any]
Predicate = Callable[[Event], bool]
Waiter = tuple[asyncio.Future[Event], Predicate]


def _any_event(event: Event) -> bool:
    return True


class OutcomeListener:
    def __init__(self, bootstrap: str, topic: str, in_flight: UnitsInFlight) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._in_flight = in_flight  # told of every decision on an order it counts
        self._waiting: dict[str, list[Waiter]] = {}
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="outcome-listener")

    async def stop(self) -> None:
        await stop_tasks(self._task)

    def expect(self, order_id: str, until: Predicate = _any_event) -> asyncio.Future[Event]:
        """A future resolved with the first event about ``order_id`` satisfying ``until``."""
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(order_id, []).append((future, until))
        return future

    def forget(self, order_id: str, future: asyncio.Future[Event]) -> None:
        waiters = [w for w in self._waiting.get(order_id, []) if w[0] is not future]
        if waiters:
            self._waiting[order_id] = waiters
        else:
            self._waiting.pop(order_id, None)

    async def _run_forever(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:
                log.warning("order-events listener lost Kafka (%s); reconnecting", exc)
                self.ready.clear()
                await asyncio.sleep(1.0)

    async def _consume(self) -> None:
        # Subscribing without a group assigns every partition to this instance;
        # with no committed offsets, "latest" starts it at the end of each.
        consumer = AIOKafkaConsumer(
            self._topic,
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            fetch_max_wait_ms=QUIET_MAX_WAIT_MS,
            fetch_min_bytes=QUIET_MIN_BYTES,  # then by the rate of events
        )
        sizing = FetchSizing()
        await consumer.start()
        try:
            # Ready once every partition has its position (the end when it started):
            # an event produced from then on is read, so a request may wait for it.
            for partition in consumer.assignment():
                await consumer.position(partition)
            self.ready.set()
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                sizing.handed_out(consumer, sum(len(records) for records in batches.values()))
                for records in batches.values():
                    for record in records:
                        self._resolve(record.value)
        finally:
            await consumer.stop()

    def _resolve(self, raw: bytes | None) -> None:
        if raw is None or not (self._waiting or self._in_flight.tracking):
            return
        try:
            event = jsons.loads(raw)
            order_id = event["order_id"]
        except (ValueError, KeyError, TypeError):
            return
        self._in_flight.seen(event)
        still_waiting = []
        for future, until in self._waiting.pop(order_id, ()):
            if future.done():
                continue
            if until(event):
                future.set_result(event)
            else:
                still_waiting.append((future, until))
        if still_waiting:
            self._waiting[order_id] = still_waiting
