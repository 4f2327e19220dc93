"""Find a caller's own order: the Redis projection first, MySQL as the fallback.

Another member's order and an unknown one look the same to the caller: 404.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from api.app_keys import DATABASE, REDIS, SETTINGS
from api.errors import not_found
from api.order_ids import is_order_id
from storage import order_projection
from storage.orders import select_order


async def projected_order(request: web.Request, order_id: str) -> dict[str, Any] | None:
    try:
        app = request.app
        return await order_projection.read_order(app[REDIS], app[SETTINGS], order_id)
    except Exception:  # Redis down: the callers fall back or let the stock agent decide
        return None


async def owned_order(request: web.Request, member_id: int, order_id: str) -> dict[str, Any]:
    if not is_order_id(order_id):
        raise not_found("order")
    order = await projected_order(request, order_id)
    if order is None:
        order = await request.app[DATABASE].run(lambda cur: select_order(cur, order_id))
    if order is None or order["member_id"] != member_id:
        raise not_found("order")
    return order
