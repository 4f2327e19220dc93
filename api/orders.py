"""Order intake and order reads: ``POST /orders``, ``GET /orders/{order_id}``.

``create_order`` is the order intake path, top to bottom, each step a named call;
its I/O is the ``await``s in it, each commented with the server it talks to, so
what an order costs is counted there (topology.md, "Redis round trips per order").
The pure steps (reading the request, building the PENDING order, the command and
the answers) are in api/order_requests.py; the one Redis round trip is the intake
script (api/intake.py).

An order is accepted (202) only once Kafka has it with acks=all; the stock agent
decides it. With ``Prefer: wait=N`` the request waits for that decision (201 or
409), else 202. When a product is sold out, the order is refused at once (409
SOLD_OUT, no order created) from this process's pushed sold-out set
(api/pushed_state.py): no Redis, no Kafka. Near sold out, an order first waits (at
most a second) while this process's orders in flight cover its share of the
units left (api/units_in_flight.py), so a storm's orders past the last units are
refused so too instead of reaching Kafka to be rejected after a 202.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from api import catalog, intake, jsons
from api.app_keys import (
    DECISION_WRITES,
    METRICS,
    ORDER_PRODUCES,
    PUSHED_STATE,
    RECENT_PRODUCTS,
    REDIS,
    SETTINGS,
    TOKEN_VERSIONS,
    UNITS_IN_FLIGHT,
)
from api.auth import check_version, require_member, verify_token
from api.bodies import read_json_object
from api.commands import Awaited, decision_writes, kafka_refused, project_decision
from api.kafka import KafkaUnavailable
from api.order_lookup import owned_order
from api.order_produces import order_produces
from api.order_requests import (
    accepted_answer,
    check_orderable,
    is_decision,
    order_request,
    pending_order,
    reserve_command,
    sold_out_refusal,
    unproduced_answer,
)
from api.order_views import order_body
from api.pushed_state import PushedState
from api.ratelimit import enforce_rate_limit
from storage import order_projection

log = logging.getLogger(__name__)


async def create_order(request: web.Request) -> web.Response:
    """The order intake path. An accepted order costs one Redis round trip (the intake
    script) and its share of one Kafka produce; a sold-out refusal, none. Steps marked
    "rare" run only when a cache or the pushed state cannot answer."""
    app, settings, redis = request.app, request.app[SETTINGS], request.app[REDIS]

    # Verify the token: its signature (once per token string), the pushed logout-alls.
    claims, revocations_pushed = verify_token(request, app[PUSHED_STATE])
    if not revocations_pushed:  # rare: the pushed revocations cannot be trusted now
        await check_version(request, claims)  # memory (1 s), else Redis, else MySQL
    version = claims.version if revocations_pushed else None  # left to the intake script

    # Parse the body.
    body = await read_json_object(request)  # the client's body: no server
    asked = order_request(body, request.headers, claims.member_id)

    # Find the product: its catalog fields, kept in memory (they never change once listed).
    rate_limit = settings.rate_limit
    product = app[RECENT_PRODUCTS].fields(asked.product_id)
    if product is None:  # first order for it here this minute: count the rate before reading
        await enforce_rate_limit(request, claims.member_id)  # Redis
        rate_limit = 0  # counted: the intake script does not count it again
        product = await catalog.product_to_order(app, asked.product_id)  # Redis; MySQL on a miss
    product = check_orderable(product, asked.qty)  # 404 unknown, 422 over its limit

    # Refuse if sold out: the sold-out set pushed to this process, in memory.
    sold_out = await _sold_out(app, asked.product_id)
    if sold_out and asked.key is None:
        return sold_out_refusal(app[METRICS])

    # Hold while this process's orders in flight cover its share of the units left (a
    # storm's tail), then look at the sold-out set again: their decisions may have sold
    # the product out. From here the order's units count as in flight.
    claim = await app[UNITS_IN_FLIGHT].claim(
        asked.product_id,
        asked.order_id,
        asked.qty,
        lambda: catalog.published_remaining(app, asked.product_id),
    )  # memory; Redis every 100 ms while this process's orders near the units left
    try:
        if claim.held:
            app[METRICS].hold_seconds.observe(claim.held)
            sold_out = await _sold_out(app, asked.product_id)
            if sold_out and asked.key is None:
                return sold_out_refusal(app[METRICS])

        # Admit: one script does the version, rate limit, key's claim and PENDING projection.
        pending = pending_order(asked, claims.member_id, product)
        keyed = asked.key is not None
        try:
            admission = await intake.admit(  # Redis: the intake script
                redis, settings, pending, version, rate_limit, keyed, sold_out
            )
            if admission.verdict == intake.NO_VERSION:  # rare: Redis lost the member's version
                await check_version(request, claims)  # MySQL, which writes it back to Redis
                admission = await intake.admit(  # Redis: the script again, the version checked
                    redis, settings, pending, None, rate_limit, keyed, sold_out
                )
        except (RedisError, OSError):  # Redis down: every check lets the order through, as before
            if version is not None:
                await check_version(request, claims)  # memory (1 s), else MySQL
            admission = intake.Admission(intake.SOLD_OUT if sold_out else intake.OK)
        else:  # 401, 429 or 503 for a verdict that refuses the order
            intake.check_admission(
                admission, claims, version, settings, app[TOKEN_VERSIONS], pending["created_at"]
            )
        if admission.verdict in intake.UNPRODUCED:  # decided before, sold out, or the key's order
            return unproduced_answer(admission, asked.order_id, app[METRICS])

        # Produce the command, coalesced with the product's concurrent orders.
        command = reserve_command(pending, settings.hold_seconds)
        awaited = Awaited(app, command, asked.wait, is_decision) if asked.wait else None
        try:
            await app[ORDER_PRODUCES].submit(asked.product_id, command)  # Kafka: acks=all, shared
        except KafkaUnavailable as exc:
            if awaited is not None:
                awaited.forget()
            if admission.fresh:  # rare: no order to show as PENDING
                await _take_back_pending(app, asked.order_id)  # Redis
            raise kafka_refused() from exc
        claim.sent()  # its units count until its decision is read

        # Wait for the decision (with Prefer: wait), and answer.
        event = await awaited.event() if awaited is not None else None  # no request: the listener
        if event is not None:  # show the client's next read what it is told now
            await project_decision(app, event)  # Redis: one write shared with concurrent decisions
        app[METRICS].orders_accepted.inc()
        return accepted_answer(asked.order_id, event, asked.wait)
    finally:
        claim.close()  # refused or not taken by Kafka: its units are not in flight


async def _sold_out(app: web.Application, product_id: int) -> bool:
    """From the sold-out set pushed to this process; rare: from Redis when it cannot be
    trusted now (100 ms reuse)."""
    sold_out = app[PUSHED_STATE].sold_out(product_id)
    if sold_out is None:
        sold_out = await catalog.published_sold_out(app, product_id)  # Redis (100 ms reuse)
    return sold_out


async def _take_back_pending(app: web.Application, order_id: str) -> None:
    """Drop the PENDING projection of an order Kafka did not take (one round trip)."""
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
