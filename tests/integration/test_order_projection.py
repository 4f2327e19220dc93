"""The Redis order projection never moves an order backwards (real Redis)."""

from __future__ import annotations

from typing import Any

import pytest

from storage.order_projection import read_order, write_orders
from streams.settings import Settings

pytestmark = pytest.mark.integration


def _order(status: str, **extra: Any) -> dict[str, Any]:
    base = {
        "order_id": "0190c2a0-0000-7000-8000-000000000001",
        "member_id": 7,
        "product_id": 3,
        "qty": 1,
        "amount": 9900,
        "status": status,
        "reason": None,
        "created_at": 1700000000.0,
        "updated_at": 1700000000.0,
        "expires_at": None,
    }
    return {**base, **extra}


async def test_later_status_wins_whatever_the_delivery_order(
    fresh_settings: Settings, redis_client: Any
) -> None:
    reserved = _order("RESERVED", expires_at=1700000300.0, updated_at=1700000001.0)
    await write_orders(redis_client, fresh_settings, [reserved, _order("PENDING")])
    stored = await read_order(redis_client, fresh_settings, reserved["order_id"])
    assert stored is not None
    assert stored["status"] == "RESERVED"
    assert stored["expires_at"] == 1700000300.0

    await write_orders(redis_client, fresh_settings, [_order("PAID"), reserved])
    stored = await read_order(redis_client, fresh_settings, reserved["order_id"])
    assert stored is not None and stored["status"] == "PAID"


async def test_unknown_order_reads_as_none(fresh_settings: Settings, redis_client: Any) -> None:
    assert (
        await read_order(redis_client, fresh_settings, "0190c2a0-0000-7000-8000-00000000ffff")
        is None
    )


async def test_reserved_orders_are_live_holds_until_a_later_status(
    fresh_settings: Settings, redis_client: Any
) -> None:
    from storage.order_projection import due_holds

    reserved = _order("RESERVED", expires_at=1700000300.0)
    await write_orders(redis_client, fresh_settings, [_order("PENDING"), reserved])
    assert await due_holds(redis_client, fresh_settings, now=1700000299.0) == []
    assert await due_holds(redis_client, fresh_settings, now=1700000300.0) == [
        (3, reserved["order_id"])
    ]

    await write_orders(redis_client, fresh_settings, [_order("EXPIRED"), reserved])
    assert await due_holds(redis_client, fresh_settings, now=1800000000.0) == []
