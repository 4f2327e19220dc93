"""Is this worker deciding (or following) now? ``GET /ready/`` on its Faust web port.

200 when the worker has finished its last rebalance and the recovery of its
tables, its flow is running, none of its source partitions is paused, and each of
its batch readers (streams/batch_reader.py: the saga's ``order-events``) has
finished its own group's last rebalance; 503
while it joins, rebalances or restores. The body names the source partitions it
owns, so ``make up`` (ops/readiness.py) can wait until every partition of every
role's topics has a ready owner. Faust's "Ready" log line is no such signal: it
is printed once, before the first assignment.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import faust
from faust.exceptions import ConsumerNotStarted
from faust.web import Request, Response, View

from streams.app import app, settings
from streams.batch_reader import READERS


def readiness(worker: faust.App) -> dict[str, Any]:
    consumer: Any = worker.consumer  # the transport's Consumer: flow and pause state
    changelogs = set(worker.tables.changelog_topics)
    try:
        assigned, started = consumer.assignment(), True
    except ConsumerNotStarted:  # asked during start-up, before Faust's consumer thread runs
        assigned, started = set(), False
    owned = {tp for tp in assigned if tp.topic not in changelogs}
    # Faust keeps no public view of the partitions it paused.
    paused = {tp for tp in consumer._paused_partitions if tp.topic not in changelogs}
    ready = (
        started
        and not worker.rebalancing
        and worker.tables.actives_ready
        and not worker.in_recovery
        and worker.flow_control.is_active()
        and consumer.flow_active
        and not paused & owned
        and all(reader.ready for reader in READERS)
    )
    partitions: dict[str, list[int]] = defaultdict(list)
    for tp in sorted(owned):
        partitions[tp.topic].append(tp.partition)
    for reader in READERS:
        partitions[reader.topic].extend(sorted(reader.owned or ()))
    return {
        "ready": bool(ready),
        "role": settings.worker_role,
        "group": settings.consumer_group(),
        "generation": worker.consumer_generation_id,
        "partitions": dict(partitions),
    }


@app.page("/ready/")
async def ready(web: View, request: Request) -> Response:
    state = readiness(app)
    return web.json(state, status=200 if state["ready"] else 503)
