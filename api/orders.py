"""Order intake and order reads: ``POST /orders``, ``GET /orders/{order_id}``.

An order is accepted (202) only once Kafka has it with acks=all; the stock agent
decides it. With ``Prefer: wait=N`` the request waits for that decision (201 or
409), else 202. When the stock projection says a product has nothing left, the
order is refused at once (409 SOLD_OUT, no order created) without touching Kafka.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from api import catalog
from api.auth import require_member
from api.bodies import read_json_object, require_int
from api.commands import send_command
from api.errors import not_found, validation_error
from api.idempotency import claimed_for_another_product
from api.keys import METRICS, REDIS, SETTINGS
from api.order_ids import idempotent_order_id, new_order_id
from api.order_lookup import owned_order, projected_order
from api.order_views import decision_response, order_body
from api.prefer import requested_wait
from api.ratelimit import enforce_rate_limit
from storage import order_projection
from streams.records import ReserveOrder
from streams.statuses import PENDING, SOLD_OUT

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 64
MAX_ID = 2**63 - 1
MAX_QTY = 1_000_000


def _order_id(request: web.Request, member_id: int) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return new_order_id()
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise validation_error("Idempotency-Key", "must be 1 to 64 printable characters")
    return idempotent_order_id(member_id, key)


async def create_order(request: web.Request) -> web.Response:
    app = request.app
    principal = await require_member(request)
    await enforce_rate_limit(request, principal.member_id)
    body = await read_json_object(request)
    product_id = require_int(body, "product_id", minimum=1, maximum=MAX_ID)
    qty = require_int(body, "qty", minimum=1, maximum=MAX_QTY)
    found = await catalog.product_to_order(app, product_id)
    if found is None:
        raise not_found("product")
    product, sold_out = found
    if qty > product["per_user_limit"]:
        raise validation_error("qty", f"at most {product['per_user_limit']} per member")
    order_id = _order_id(request, principal.member_id)
    wait = requested_wait(request.headers.get("Prefer"))

    if "Idempotency-Key" in request.headers:
        # A retry of an order already decided gets that decision back at once.
        known = await projected_order(request, order_id)
        if known and known["member_id"] == principal.member_id and known["status"] != PENDING:
            return decision_response(known)
    if sold_out:  # Redis down: not known, so no fast path; the stock agent decides
        app[METRICS].fast_path_refusals.inc()
        return web.json_response(
            {"order_id": None, "status": "REJECTED", "reason": SOLD_OUT}, status=409
        )
    if "Idempotency-Key" in request.headers and await claimed_for_another_product(
        app, order_id, product_id
    ):
        # The key's order exists for another product; a decided one was answered above.
        return _pending(order_id)
    command = ReserveOrder(
        product_id=product_id,
        order_id=order_id,
        member_id=principal.member_id,
        qty=qty,
        amount=product["sale_price"] * qty,
        hold_seconds=app[SETTINGS].hold_seconds,
        at=time.time(),
    )
    return await _submit(request, command, wait)


def _pending(order_id: str) -> web.Response:
    return web.json_response({"order_id": order_id, "status": PENDING}, status=202)


def _is_decision(event: dict[str, Any]) -> bool:
    return event["status"] != PENDING


async def _submit(request: web.Request, command: ReserveOrder, wait: float | None) -> web.Response:
    event = await send_command(request, command, wait, until=_is_decision)
    request.app[METRICS].orders_accepted.inc()
    if event is not None:  # send_command has projected the decision itself
        return decision_response(event, preference_applied=f"wait={wait:g}")
    await _project_pending(request, command)
    return _pending(command.order_id)


async def _project_pending(request: web.Request, command: ReserveOrder) -> None:
    """Make the order visible as PENDING at once; the projection never goes backwards."""
    pending = {
        "order_id": command.order_id,
        "member_id": command.member_id,
        "product_id": command.product_id,
        "qty": command.qty,
        "amount": command.amount,
        "status": PENDING,
        "created_at": command.at,
        "updated_at": command.at,
    }
    try:
        await order_projection.write_orders(request.app[REDIS], request.app[SETTINGS], [pending])
    except Exception as exc:  # the projection catches up from the events; MySQL has the truth
        log.warning("could not project pending order %s: %s", command.order_id, exc)


async def get_order(request: web.Request) -> web.Response:
    principal = await require_member(request)
    order = await owned_order(request, principal.member_id, request.match_info["order_id"])
    return web.json_response(order_body(order))


def setup_order_routes(app: web.Application) -> None:
    app.router.add_post("/orders", create_order)
    app.router.add_get("/orders/{order_id}", get_order)
