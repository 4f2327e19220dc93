"""Stock commands straight onto ``stock-commands``: the JSON of streams.records, keyed
by product, as the API sends them; ``produce_commands`` says where each one landed
(its arrival order).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from kit.kafka import produce
from streams.settings import Settings
from streams.topics import STOCK_COMMANDS

Json = dict[str, Any]


def listing(product_id: int, stock: int, limit: int, at: float) -> Json:
    return {
        "kind": "ListProduct",
        "product_id": product_id,
        "stock": stock,
        "per_user_limit": limit,
        "price": 10000,
        "sale_price": 5000,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "at": at,
    }


def reserve(product_id: int, member_id: int, at: float, order_id: str | None = None) -> Json:
    return {
        "kind": "ReserveOrder",
        "product_id": product_id,
        "order_id": order_id or str(uuid.uuid4()),
        "member_id": member_id,
        "qty": 1,
        "amount": 5000,
        "hold_seconds": 300,
        "at": at,
    }


@dataclass(frozen=True)
class Sent:
    """A command and where it landed: its record's offset, and its index in the record
    (a CommandBatch; 0 for a bare command)."""

    command: Json
    partition: int
    offset: int
    index: int = 0


async def produce_commands(settings: Settings, commands: list[Json]) -> list[Sent]:
    landed = await produce(settings, STOCK_COMMANDS.name(settings), commands)
    return [Sent(c, m.partition, m.offset) for c, m in zip(commands, landed, strict=True)]
