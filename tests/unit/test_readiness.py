"""What ``make up`` waits for: every worker ready, every partition of each role's topics owned."""

from __future__ import annotations

from typing import Any

from ops.readiness import missing, worker_urls
from streams.settings import Settings

SETTINGS = Settings.from_env({}, workers=2, partitions=4, app_id="shop")


def _answer(ready: bool, **partitions: list[int]) -> dict[str, Any]:
    return {
        "ready": ready,
        "partitions": {f"shop.{t.replace('_', '-')}": p for t, p in partitions.items()},
    }


def _saga(ready: bool = True) -> dict[str, Any]:
    return _answer(ready, order_events=[0, 1, 2, 3], payment_events=[0, 1, 2, 3])


def test_ready_when_every_partition_has_a_ready_owner() -> None:
    answers = {
        "worker-1": _answer(True, stock_commands=[0, 1]),
        "worker-2": _answer(True, stock_commands=[2, 3]),
        "saga-1": _saga(),
    }
    assert missing(SETTINGS, answers) == []


def test_a_worker_still_restoring_is_named_and_its_partitions_lack_an_owner() -> None:
    answers = {
        "worker-1": _answer(True, stock_commands=[0, 1]),
        "worker-2": _answer(False, stock_commands=[2, 3]),
        "saga-1": _saga(),
    }
    assert missing(SETTINGS, answers) == [
        "worker-2",
        "shop.stock-commands partitions [2, 3] without a ready owner",
    ]


def test_a_worker_that_does_not_answer_is_not_ready() -> None:
    answers = {"worker-1": _answer(True, stock_commands=[0, 1, 2, 3]), "worker-2": None}
    problems = missing(SETTINGS, {**answers, "saga-1": None})
    assert problems[:2] == ["worker-2", "saga-1"]
    assert "shop.order-events partitions [0, 1, 2, 3] without a ready owner" in problems


def test_make_up_asks_every_stock_worker_and_the_saga_worker() -> None:
    assert worker_urls(SETTINGS) == {
        "worker-1": "http://127.0.0.1:6066",
        "worker-2": "http://127.0.0.1:6067",
        "saga-1": "http://127.0.0.1:6166",
    }
