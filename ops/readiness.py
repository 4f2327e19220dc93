"""Wait until the pipeline can decide: ``make up`` returns only then.

Ready means every worker ``make up`` started answers ``GET /ready/`` with 200
(it finished its last rebalance and the recovery of its tables, and its flow
runs: agents/readiness.py), and together they own every partition of their
role's topics: the stock workers every partition of ``stock-commands``, the
saga worker every partition of ``order-events`` and ``payment-events``. A
worker that is up but still joining or restoring is not ready. And every API
process answers ``GET /readyz`` with 200 on its own port (Kafka, Redis and MySQL
answer it; the API port would reach whichever process the kernel picks).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from typing import Any

from streams.settings import Settings
from streams.topics import READER_ROLE

POLL_SECONDS = 0.25


def role_topics(settings: Settings) -> dict[str, list[str]]:
    """The topics whose every partition a role's workers must own."""
    topics: dict[str, list[str]] = {}
    for spec, role in READER_ROLE.items():
        topics.setdefault(role, []).append(spec.name(settings))
    return topics


def worker_urls(settings: Settings) -> dict[str, str]:
    """Every Faust worker ``make up`` starts, by name."""
    urls = {
        f"worker-{n}": f"http://127.0.0.1:{settings.worker_web_port(n)}"
        for n in range(1, settings.workers + 1)
    }
    urls["saga-1"] = f"http://127.0.0.1:{settings.saga_web_port()}"
    return urls


def ask(url: str) -> dict[str, Any] | None:
    """A worker's ``/ready/`` answer (200 or 503), or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/ready/", timeout=2) as resp:
            return dict(json.load(resp))
    except urllib.error.HTTPError as exc:  # 503: not ready, with the same body
        try:
            return dict(json.load(exc))
        except ValueError:
            return None
    except (OSError, ValueError):
        return None


def api_ready(url: str) -> bool:
    """Whether the API process at ``url`` (its own port) answers ``/readyz`` with 200."""
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):  # a 503 (HTTPError) is an OSError too
        return False


def missing(settings: Settings, answers: dict[str, dict[str, Any] | None]) -> list[str]:
    """What stands between these answers and a ready pipeline; empty when ready."""
    problems = [name for name, answer in answers.items() if not (answer and answer["ready"])]
    owned: dict[str, set[int]] = defaultdict(set)
    for answer in answers.values():
        if answer and answer["ready"]:
            for topic, partitions in answer["partitions"].items():
                owned[topic].update(partitions)
    for topics in role_topics(settings).values():
        for topic in topics:
            lacking = set(range(settings.partitions)) - owned[topic]
            if lacking:
                problems.append(f"{topic} partitions {sorted(lacking)} without a ready owner")
    return problems


def wait_until_ready(settings: Settings, timeout: float, apis: dict[str, str] | None = None) -> str:
    """Block until ready and say so; after ``timeout``, ``RuntimeError`` naming what is
    missing. ``apis``: the API processes to ask too, by name, at their own ports."""
    began = time.monotonic()
    urls = worker_urls(settings)
    apis = apis or {}
    while True:
        problems = missing(settings, {name: ask(url) for name, url in urls.items()})
        problems += [f"{name} /readyz" for name, url in apis.items() if not api_ready(url)]
        if not problems:
            answering = f"; {', '.join(apis)} ready" if apis else ""
            return (
                f"ready in {time.monotonic() - began:.1f}s: every partition has a worker"
                f" deciding it ({', '.join(urls)}){answering}"
            )
        if time.monotonic() - began > timeout:
            waiting = "; ".join(problems)
            raise RuntimeError(f"not ready within {timeout:.0f}s: {waiting}")
        time.sleep(POLL_SECONDS)
