"""Paying and cancelling an order: ``POST /orders/{id}/pay`` and ``/cancel``.

The API checks ownership and the current status, then hands the request to the
stock agent, which alone moves the order (a pay that races the hold's expiry is
settled there, one way only). With ``Prefer: wait=N`` the answer is the final
outcome: 200 PAID, 402 PAYMENT_FAILED, 200 CANCELLED or REFUNDED.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from api.auth import require_member
from api.commands import send_command
from api.errors import ApiError
from api.order_lookup import owned_order
from api.order_views import order_body
from api.outcomes import Predicate
from api.prefer import requested_wait
from api.ratelimit import enforce_rate_limit
from streams.records import CancelOrder, PayOrder
from streams.statuses import CANCELLED, FINAL_STATUSES, PAID, PAYMENT_FAILED, REFUNDED, RESERVED

FINAL_ANSWER = {PAID: 200, PAYMENT_FAILED: 402, CANCELLED: 200, REFUNDED: 200}


def invalid_state(status: str) -> ApiError:
    return ApiError(409, "INVALID_STATE", f"not possible for an order that is {status}")


async def _load(request: web.Request, allowed: tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    principal = await require_member(request)
    await enforce_rate_limit(request, principal.member_id)
    order = await owned_order(request, principal.member_id, request.match_info["order_id"])
    if order["status"] not in allowed:
        raise invalid_state(order["status"])
    return principal.member_id, order


def _answer(
    order: dict[str, Any], event: dict[str, Any] | None, expected: set[str]
) -> web.Response:
    if event is None:
        return web.json_response(order_body(order), status=202)
    if event["status"] not in expected:
        raise invalid_state(event["status"])
    return web.json_response(order_body(event), status=FINAL_ANSWER[event["status"]])


def _settled(event: dict[str, Any]) -> bool:
    return event["status"] != RESERVED


def _final(event: dict[str, Any]) -> bool:
    return event["status"] in FINAL_STATUSES


async def _ask(
    request: web.Request,
    command_type: type[PayOrder] | type[CancelOrder],
    allowed: tuple[str, ...],
    until: Predicate,
    expected: set[str],
) -> web.Response:
    """Hand the buyer's request to the stock agent; with ``Prefer: wait``, its outcome."""
    member_id, order = await _load(request, allowed)
    command = command_type(
        product_id=order["product_id"],
        order_id=order["order_id"],
        member_id=member_id,
        at=time.time(),
    )
    wait = requested_wait(request.headers.get("Prefer"))
    event = await send_command(request, command, wait, until=until)
    return _answer(order, event, expected)


async def pay_order(request: web.Request) -> web.Response:
    return await _ask(request, PayOrder, (RESERVED,), _settled, {PAID, PAYMENT_FAILED})


async def cancel_order(request: web.Request) -> web.Response:
    return await _ask(request, CancelOrder, (RESERVED, PAID), _final, {CANCELLED, REFUNDED})


def setup_checkout_routes(app: web.Application) -> None:
    app.router.add_post("/orders/{order_id}/pay", pay_order)
    app.router.add_post("/orders/{order_id}/cancel", cancel_order)
