"""What a ``POST /orders`` asks for, what the intake path builds from it, and its answers.

Pure steps (no I/O) of api/orders.py ``create_order``, called between its round
trips: the request read and checked, the PENDING order the intake script projects,
the ``ReserveOrder`` it produces, and the responses that end the path.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from api import intake, jsons
from api.bodies import require_int
from api.errors import not_found, validation_error
from api.metrics import ApiMetrics
from api.order_ids import idempotent_order_id, new_order_id
from api.order_views import decision_response
from api.prefer import requested_wait
from streams.records import ReserveOrder
from streams.statuses import PENDING, SOLD_OUT

MAX_IDEMPOTENCY_KEY = 64
MAX_ID = 2**63 - 1
MAX_QTY = 1_000_000
SOLD_OUT_ANSWER = {"order_id": None, "status": "REJECTED", "reason": SOLD_OUT}


@dataclass(frozen=True, slots=True)
class OrderRequest:
    product_id: int
    qty: int
    key: str | None  # the Idempotency-Key
    order_id: str  # from member and key with a key, else new
    wait: float | None  # Prefer: wait=N, in seconds


def order_request(body: dict[str, Any], headers: Mapping[str, str], member_id: int) -> OrderRequest:
    """The order the body and headers ask for; 422 naming the field at fault."""
    product_id = require_int(body, "product_id", minimum=1, maximum=MAX_ID)
    qty = require_int(body, "qty", minimum=1, maximum=MAX_QTY)
    key = headers.get("Idempotency-Key")
    order_id = _order_id(key, member_id)
    return OrderRequest(product_id, qty, key, order_id, requested_wait(headers.get("Prefer")))


def _order_id(key: str | None, member_id: int) -> str:
    if key is None:
        return new_order_id()
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise validation_error("Idempotency-Key", "must be 1 to 64 printable characters")
    return idempotent_order_id(member_id, key)


def check_orderable(product: dict[str, Any] | None, qty: int) -> dict[str, Any]:
    """The product's catalog fields; 404 if there is no such product, 422 over its limit."""
    if product is None:
        raise not_found("product")
    if qty > product["per_user_limit"]:
        raise validation_error("qty", f"at most {product['per_user_limit']} per member")
    return product


def pending_order(asked: OrderRequest, member_id: int, product: dict[str, Any]) -> dict[str, Any]:
    """The order as the intake script projects it, PENDING, created now."""
    now = time.time()
    return {
        "order_id": asked.order_id,
        "member_id": member_id,
        "product_id": asked.product_id,
        "qty": asked.qty,
        "amount": product["sale_price"] * asked.qty,
        "status": PENDING,
        "created_at": now,
        "updated_at": now,
    }


def reserve_command(pending: dict[str, Any], hold_seconds: int) -> ReserveOrder:
    return ReserveOrder(
        product_id=pending["product_id"],
        order_id=pending["order_id"],
        member_id=pending["member_id"],
        qty=pending["qty"],
        amount=pending["amount"],
        hold_seconds=hold_seconds,
        at=pending["created_at"],
    )


def is_decision(event: dict[str, Any]) -> bool:
    return event["status"] != PENDING


def sold_out_refusal(metrics: ApiMetrics) -> web.Response:
    """409 SOLD_OUT with no order: refused before reaching Kafka."""
    metrics.fast_path_refusals.inc()
    return jsons.answer(SOLD_OUT_ANSWER, status=409)


def pending_answer(order_id: str) -> web.Response:
    return jsons.answer({"order_id": order_id, "status": PENDING}, status=202)


def unproduced_answer(
    admission: intake.Admission, order_id: str, metrics: ApiMetrics
) -> web.Response:
    """The answer to an order the intake script kept from Kafka: a retry of a decided
    order gets its decision; a key's order known sold out, 409; a key's order for
    another product, 202 PENDING (a decided one got its decision)."""
    if admission.verdict == intake.DECIDED:
        assert admission.order is not None
        return decision_response(admission.order)
    if admission.verdict == intake.SOLD_OUT:
        return sold_out_refusal(metrics)
    return pending_answer(order_id)  # OTHER_PRODUCT


def accepted_answer(
    order_id: str, event: dict[str, Any] | None, wait: float | None
) -> web.Response:
    """201 or 409 for a decision waited for (``Preference-Applied``), else 202 PENDING."""
    if event is not None:
        return decision_response(event, preference_applied=f"wait={wait:g}")
    return pending_answer(order_id)
