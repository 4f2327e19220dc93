"""Order intake and order reads: ``POST /orders``, ``GET /orders/{order_id}``.

An order is accepted (202) only once Kafka has it with acks=all; the stock agent
decides it. With ``Prefer: wait=N`` the request waits for that decision (201 or
409), else 202. When a product is sold out, the order is refused at once (409
SOLD_OUT, no order created) from this process's pushed sold-out set
(api/pushed_state.py): no Redis, no Kafka.

What ``create_order`` costs, in round trips (topology.md, "The API's side"):
the token's signature is checked once per token string, the product's fields are
read once per product a minute; then one Redis round trip, the intake script
(api/intake.py: version, rate limit, Idempotency-Key, PENDING projection), and
one Kafka produce shared with the product's concurrent orders
(api/order_produces.py). ``Prefer: wait`` adds the decision's projection, one
write shared with every decision arriving meanwhile (api/commands.py).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from api import catalog, intake, jsons, tokens
from api.app_keys import (
    DECISION_WRITES,
    METRICS,
    ORDER_PRODUCES,
    PUSHED_STATE,
    RECENT_PRODUCTS,
    REDIS,
    SETTINGS,
    TOKEN_VERSIONS,
)
from api.auth import bearer_token, check_claims, check_version, require_member, unauthenticated
from api.bodies import read_json_object, require_int
from api.commands import decision_writes, send_command
from api.errors import ApiError, not_found, rate_limited, unavailable, validation_error
from api.order_ids import idempotent_order_id, new_order_id
from api.order_lookup import owned_order
from api.order_produces import order_produces
from api.order_views import decision_response, order_body
from api.prefer import requested_wait
from api.pushed_state import PushedState
from api.ratelimit import enforce_rate_limit
from storage import order_projection
from streams.records import ReserveOrder
from streams.statuses import PENDING, SOLD_OUT

log = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY = 64
MAX_ID = 2**63 - 1
MAX_QTY = 1_000_000
SOLD_OUT_ANSWER = {"order_id": None, "status": "REJECTED", "reason": SOLD_OUT}


def _order_id(key: str | None, member_id: int) -> str:
    if key is None:
        return new_order_id()
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise validation_error("Idempotency-Key", "must be 1 to 64 printable characters")
    return idempotent_order_id(member_id, key)


async def _verified(request: web.Request) -> tuple[tokens.Claims, int | None]:
    """The token's claims, and the version the intake script must still check (None if
    checked here already: the old way, when the pushed revocations cannot be trusted)."""
    claims = check_claims(request, bearer_token(request), tokens.ACCESS)
    revoked = request.app[PUSHED_STATE].revoked(claims.member_id, claims.version)
    if revoked:
        raise unauthenticated("TOKEN_REVOKED", "the token has been revoked")
    if revoked is None:
        await check_version(request, claims)  # Redis (1 s cache), MySQL as the fallback
        return claims, None
    return claims, claims.version


async def create_order(request: web.Request) -> web.Response:
    app = request.app
    claims, version_to_check = await _verified(request)
    body = await read_json_object(request)
    product_id = require_int(body, "product_id", minimum=1, maximum=MAX_ID)
    qty = require_int(body, "qty", minimum=1, maximum=MAX_QTY)
    key = request.headers.get("Idempotency-Key")
    order_id = _order_id(key, claims.member_id)
    wait = requested_wait(request.headers.get("Prefer"))
    rate_limit = app[SETTINGS].rate_limit
    product = app[RECENT_PRODUCTS].fields(product_id)
    if product is None:  # first order for it here this minute: count the rate before reading
        await enforce_rate_limit(request, claims.member_id)
        rate_limit = 0
        product = await catalog.product_to_order(app, product_id)
    if product is None:
        raise not_found("product")
    if qty > product["per_user_limit"]:
        raise validation_error("qty", f"at most {product['per_user_limit']} per member")

    sold_out = app[PUSHED_STATE].sold_out(product_id)
    if sold_out is None:  # the pushed set cannot be trusted now: read Redis, as before
        sold_out = await catalog.published_sold_out(app, product_id)
    if sold_out and key is None:
        app[METRICS].fast_path_refusals.inc()
        return jsons.answer(SOLD_OUT_ANSWER, status=409)

    pending = {
        "order_id": order_id,
        "member_id": claims.member_id,
        "product_id": product_id,
        "qty": qty,
        "amount": product["sale_price"] * qty,
        "status": PENDING,
        "created_at": time.time(),
    }
    pending["updated_at"] = pending["created_at"]
    admission = await _admit(request, claims, pending, version_to_check, rate_limit, key, sold_out)
    if admission.verdict == intake.DECIDED:  # a retry of a decided order: its decision
        assert admission.order is not None
        return decision_response(admission.order)
    if admission.verdict == intake.SOLD_OUT:
        app[METRICS].fast_path_refusals.inc()
        return jsons.answer(SOLD_OUT_ANSWER, status=409)
    if admission.verdict == intake.OTHER_PRODUCT:
        # The key's order exists for another product; a decided one was answered above.
        return _pending(order_id)
    command = ReserveOrder(
        product_id=product_id,
        order_id=order_id,
        member_id=claims.member_id,
        qty=qty,
        amount=pending["amount"],
        hold_seconds=app[SETTINGS].hold_seconds,
        at=pending["created_at"],
    )
    return await _submit(request, command, wait, admission.fresh)


async def _admit(
    request: web.Request,
    claims: tokens.Claims,
    pending: dict[str, Any],
    version: int | None,
    rate_limit: int,
    key: str | None,
    sold_out: bool,
) -> intake.Admission:
    """The intake script's verdict (one round trip), its refusals raised as errors."""
    app = request.app
    try:
        admission = await intake.admit(
            app[REDIS], app[SETTINGS], pending, version, rate_limit, key is not None, sold_out
        )
        if admission.verdict == intake.NO_VERSION:  # Redis lost the member's entry: rare
            await check_version(request, claims)  # MySQL, and writes the entry back
            admission = await intake.admit(
                app[REDIS], app[SETTINGS], pending, None, rate_limit, key is not None, sold_out
            )
    except (RedisError, OSError):
        # Redis down: what the script checks lets the order through, as each step
        # always did; only the token still has to be checked (MySQL).
        if version is not None:
            await check_version(request, claims)
        return intake.Admission(intake.SOLD_OUT if sold_out else intake.OK)
    if admission.verdict == intake.VERSION:
        assert admission.version is not None
        app[TOKEN_VERSIONS].remember(claims.member_id, admission.version)
        if claims.version < admission.version:
            raise unauthenticated("TOKEN_REVOKED", "the token has been revoked")
        raise unauthenticated(message="unknown member")
    if admission.verdict == intake.RATE_LIMITED:
        limit = app[SETTINGS].rate_limit
        retry_after = max(1, math.ceil(int(pending["created_at"]) + 1 - time.time()))
        raise rate_limited(retry_after, f"more than {limit} requests per second")
    if admission.verdict == intake.DECIDED:
        assert admission.order is not None
        if admission.order["member_id"] != claims.member_id:  # a uuid5 collision
            raise unavailable("this Idempotency-Key cannot be used")
    if version is not None:
        app[TOKEN_VERSIONS].remember(claims.member_id, version)
    return admission


def _pending(order_id: str) -> web.Response:
    return jsons.answer({"order_id": order_id, "status": PENDING}, status=202)


def _is_decision(event: dict[str, Any]) -> bool:
    return event["status"] != PENDING


async def _submit(
    request: web.Request, command: ReserveOrder, wait: float | None, fresh: bool
) -> web.Response:
    try:
        event = await send_command(request, command, wait, until=_is_decision)
    except ApiError as err:
        if fresh:  # Kafka did not take it: no order to show as PENDING
            await _forget_pending(request, command.order_id)
        raise err
    request.app[METRICS].orders_accepted.inc()
    if event is not None:  # send_command has projected the decision itself
        return decision_response(event, preference_applied=f"wait={wait:g}")
    return _pending(command.order_id)  # projected PENDING by the intake script


async def _forget_pending(request: web.Request, order_id: str) -> None:
    app = request.app
    try:
        await order_projection.forget_pending(app[REDIS], app[SETTINGS], order_id)
    except (RedisError, OSError) as exc:
        log.warning("could not take back the PENDING projection of %s: %s", order_id, exc)


async def get_order(request: web.Request) -> web.Response:
    principal = await require_member(request)
    order = await owned_order(request, principal.member_id, request.match_info["order_id"])
    return jsons.answer(order_body(order))


async def _intake_state(app: web.Application) -> AsyncIterator[None]:
    """The pushed sold-out set, and the group commits of produces and projections."""
    app[PUSHED_STATE] = PushedState(app[SETTINGS])
    app[PUSHED_STATE].start()
    app[ORDER_PRODUCES] = order_produces(app)
    app[DECISION_WRITES] = decision_writes(app)
    yield
    await app[ORDER_PRODUCES].close()
    await app[DECISION_WRITES].close()
    await app[PUSHED_STATE].stop()


def setup_order_routes(app: web.Application) -> None:
    app.cleanup_ctx.append(_intake_state)
    app.router.add_post("/orders", create_order)
    app.router.add_get("/orders/{order_id}", get_order)
