"""The order status projection waits out a Redis outage with the shared back-off."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from agents import project_order_status as module
from agents.saga_metrics import saga_metrics

EVENT = {
    "order_id": "0190c2a0-0000-7000-8000-000000000001",
    "member_id": 7,
    "product_id": 3,
    "qty": 1,
    "amount": 9900,
    "status": "PENDING",
    "reason": None,
    "created_at": 1700000000.0,
    "updated_at": 1700000000.0,
    "expires_at": None,
}


def _count(name: str) -> float:
    return saga_metrics().registry.get_sample_value(f"{name}_total") or 0.0


async def test_a_redis_outage_is_retried_with_growing_capped_waits(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    writes: list[list[dict[str, Any]]] = []
    waits: list[float] = []

    async def write_orders(redis: Any, settings: Any, orders: list[dict[str, Any]]) -> None:
        writes.append(orders)
        if len(writes) <= 8:
            raise RedisConnectionError("down")

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(
        module,
        "order_projection",
        SimpleNamespace(
            projection_of=module.order_projection.projection_of, write_orders=write_orders
        ),
    )
    monkeypatch.setattr(module, "redis_client", lambda: None)
    monkeypatch.setattr(module, "asyncio", SimpleNamespace(sleep=sleep))
    retries = _count("flashsale_order_projection_retries")
    batches = _count("flashsale_order_projection_batches")

    with caplog.at_level(logging.WARNING, logger=module.__name__):
        await module.project_order_status([EVENT])

    assert len(writes) == 9 and writes[-1][0]["order_id"] == EVENT["order_id"]
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    assert [r.getMessage().rsplit(" ", 1)[1] for r in caplog.records] == [
        "0.1s",
        "0.2s",
        "0.4s",
        "0.8s",
        "1.6s",
        "3.2s",
        "5.0s",
        "5.0s",
    ]
    assert _count("flashsale_order_projection_retries") == retries + 8
    assert _count("flashsale_order_projection_batches") == batches + 1
