"""The Faust worker and the API start cleanly against the real servers."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest

from kit.processes import ManagedProcess
from streams.settings import Settings

pytestmark = pytest.mark.integration


def test_worker_and_api_start_and_are_ready(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
) -> None:
    worker = worker_factory(fresh_settings)
    _, base = api_factory(fresh_settings)

    with urllib.request.urlopen(f"{base}/readyz", timeout=10) as resp:
        body = json.loads(resp.read())
    assert resp.status == 200
    assert body == {"status": "ok", "checks": {"kafka": True, "redis": True, "mysql": True}}
    assert worker.alive
    assert "Traceback" not in worker.log()
