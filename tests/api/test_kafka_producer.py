"""The API's producer is replaced after a failed send (its idempotence state may be
broken for good after a broker restart), and the failure is a 503, never a 202."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, OutOfOrderSequenceNumber

from api.kafka import CommandProducer, KafkaUnavailable


class FakeProducer:
    def __init__(self, error: Exception | None) -> None:
        self.error, self.stopped, self.sent = error, False, 0

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> Any:
        self.sent += 1
        if self.error is not None:
            raise self.error

    async def stop(self) -> None:
        self.stopped = True


async def _send(producer: CommandProducer) -> None:
    await producer.send("topic", b"key", b"value")


@pytest.mark.parametrize("error", [OutOfOrderSequenceNumber(), KafkaConnectionError()])
async def test_a_failed_send_is_unavailable_and_the_next_send_uses_a_new_producer(
    error: Exception,
) -> None:
    commands = CommandProducer("127.0.0.1:9")
    broken, fresh = FakeProducer(error), FakeProducer(None)
    commands._producer = broken
    with pytest.raises(KafkaUnavailable):
        await _send(commands)
    assert commands._producer is None
    await asyncio.sleep(0)  # the broken one is stopped in the background
    assert broken.stopped
    commands._producer = fresh
    await _send(commands)
    assert fresh.sent == 1 and commands._producer is fresh
    await commands.close()
