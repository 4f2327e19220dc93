"""Orders as the contract shows them, and the answer to a waited-for decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from api import jsons
from api.times import rfc3339
from streams.shapes import ORDER_FIELDS, ORDER_TIMES
from streams.statuses import REJECTED, RESERVED


def order_body(order: Mapping[str, Any]) -> dict[str, Any]:
    """The contract's Order: the order's fields (streams.shapes) and no others (a
    projection's rank, a row's status_rank), times as RFC 3339."""
    return {
        name: rfc3339(order.get(name)) if name in ORDER_TIMES else order.get(name)
        for name in ORDER_FIELDS
    }


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
