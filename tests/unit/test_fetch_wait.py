"""The worker's consumer is built with the short fetch wait (streams/fetch_wait.py)."""

from __future__ import annotations

import inspect

from aiokafka import AIOKafkaConsumer

from streams import fetch_wait


async def test_the_worker_consumer_waits_at_most_a_few_ms_for_a_fetch() -> None:
    from streams.app import app

    thread = app.consumer._thread
    unpatched = fetch_wait._original(thread, app.transport)
    patched = thread._create_worker_consumer(app.transport)
    try:
        assert unpatched._fetch_max_wait_ms == 1500  # what Faust asks for
        assert patched._fetch_max_wait_ms == fetch_wait.FETCH_MAX_WAIT_MS
        # The attribute is what start() hands to the Fetcher in this aiokafka.
        assert "fetch_max_wait_ms=self._fetch_max_wait_ms" in inspect.getsource(
            AIOKafkaConsumer.start
        )
    finally:
        await unpatched.stop()
        await patched.stop()
