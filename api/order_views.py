"""Orders as the contract shows them, and the answer to a waited-for decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from api import jsons
from api.times import rfc3339
from streams.statuses import REJECTED, RESERVED

ORDER_FIELDS = ("order_id", "member_id", "product_id", "qty", "amount", "status", "reason")


def order_body(order: Mapping[str, Any]) -> dict[str, Any]:
    body = {name: order.get(name) for name in ORDER_FIELDS}
    for name in ("created_at", "updated_at", "expires_at"):
        body[name] = rfc3339(order.get(name))
    return body


def decision_response(
    order: Mapping[str, Any], preference_applied: str | None = None
) -> web.Response:
    """201 for a reservation, 409 for a rejection, 200 with the order for anything later."""
    headers = {"Preference-Applied": preference_applied} if preference_applied else None
    if order["status"] == RESERVED:
        body = {
            "order_id": order["order_id"],
            "status": RESERVED,
            "expires_at": rfc3339(order.get("expires_at")),
        }
        return jsons.answer(body, status=201, headers=headers)
    if order["status"] == REJECTED:
        body = {"order_id": order["order_id"], "status": REJECTED, "reason": order.get("reason")}
        return jsons.answer(body, status=409, headers=headers)
    return jsons.answer(order_body(order), status=200, headers=headers)
