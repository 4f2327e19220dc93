"""Product routes: the public catalog and the admin's listing and restocking.

An admin write commits to MySQL first, then publishes the stock command
(``ListProduct`` / ``RestockProduct``) to ``stock-commands`` keyed by product, so
the product's stock partition learns about it in order. If Kafka does not
acknowledge, the MySQL change is undone and the answer is 503: a retry simply
creates the product (or adds the units) again. Kafka may still have stored a
command it did not acknowledge in time; the stock agent then knows a product id
that MySQL does not (orders for it get 404), or holds more units than
``products.stock`` says, which the audit reports.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from api import catalog
from api.app_keys import DATABASE, PRODUCER, SETTINGS
from api.auth import require_admin
from api.bodies import optional_datetime, optional_int, read_json_object, require_int, require_str
from api.errors import not_found, unavailable, validation_error
from api.kafka import KafkaUnavailable
from api.times import epoch, naive_utc
from storage import products as product_sql
from streams.records import ListProduct, RestockProduct
from streams.topics import STOCK_COMMANDS, product_message_key

MAX_PRICE = 10**12
MAX_UNITS = 10**9
MAX_PER_USER = 10**6
MAX_NAME = 200


def _product_id(request: web.Request) -> int:
    raw = request.match_info["product_id"]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= catalog.MAX_PRODUCT_ID:
        raise not_found("product")
    return int(raw)


async def list_products(request: web.Request) -> web.Response:
    return web.json_response({"products": await catalog.list_products(request.app)})


async def get_product(request: web.Request) -> web.Response:
    product = await catalog.get_product(request.app, _product_id(request))
    if product is None:
        raise not_found("product")
    return web.json_response(product)


def _new_product(body: dict[str, Any]) -> dict[str, Any]:
    name = require_str(body, "name", MAX_NAME).strip()
    if not name:
        raise validation_error("name", "name must not be blank")
    price = require_int(body, "price", 0, MAX_PRICE)
    product: dict[str, Any] = {
        "name": name,
        "price": price,
        "sale_price": require_int(body, "sale_price", 0, price),
        "stock": require_int(body, "stock", 0, MAX_UNITS),
        "per_user_limit": optional_int(body, "per_user_limit", 1, MAX_PER_USER, default=1),
        "sale_starts_at": optional_datetime(body, "sale_starts_at"),
        "sale_ends_at": optional_datetime(body, "sale_ends_at"),
    }
    starts, ends = product["sale_starts_at"], product["sale_ends_at"]
    if starts is not None and ends is not None and ends <= starts:
        raise validation_error("sale_ends_at", "sale_ends_at must be after sale_starts_at")
    return product


async def _publish(
    request: web.Request, product_id: int, record: ListProduct | RestockProduct
) -> None:
    topic = STOCK_COMMANDS.name(request.app[SETTINGS])
    await request.app[PRODUCER].send(topic, product_message_key(product_id), record.dumps())


async def create_product(request: web.Request) -> web.Response:
    await require_admin(request)
    product = _new_product(await read_json_object(request))
    stored = {**product, "sale_starts_at": naive_utc(product["sale_starts_at"])}
    stored["sale_ends_at"] = naive_utc(product["sale_ends_at"])
    db = request.app[DATABASE]
    product_id = await db.run(lambda cur: product_sql.insert(cur, **stored))
    record = ListProduct(
        product_id=product_id,
        stock=product["stock"],
        per_user_limit=product["per_user_limit"],
        price=product["price"],
        sale_price=product["sale_price"],
        sale_starts_at=epoch(product["sale_starts_at"]),
        sale_ends_at=epoch(product["sale_ends_at"]),
        at=time.time(),
    )
    try:
        await _publish(request, product_id, record)
    except KafkaUnavailable as exc:
        await db.run(lambda cur: product_sql.delete(cur, product_id))
        raise unavailable("the product could not be listed right now; retry") from exc
    fields = await catalog.publish_changed(request.app, {"product_id": product_id, **stored})
    return web.json_response(catalog.with_stock(fields, None), status=201)


async def restock_product(request: web.Request) -> web.Response:
    await require_admin(request)
    product_id = _product_id(request)
    qty = require_int(await read_json_object(request), "qty", 1, MAX_UNITS)
    db = request.app[DATABASE]
    if not await db.run(lambda cur: product_sql.add_stock(cur, product_id, qty)):
        if await db.run(lambda cur: product_sql.by_id(cur, product_id)) is None:
            raise not_found("product")
        raise validation_error("qty", "the product's stock would exceed its maximum")
    try:
        await _publish(
            request, product_id, RestockProduct(product_id=product_id, qty=qty, at=time.time())
        )
    except KafkaUnavailable as exc:
        await db.run(lambda cur: product_sql.add_stock(cur, product_id, -qty))
        raise unavailable("the product could not be restocked right now; retry") from exc
    row = await db.run(lambda cur: product_sql.by_id(cur, product_id))
    if row is not None:
        await catalog.publish_changed(request.app, row)
    return web.json_response({"product_id": product_id, "added": qty}, status=202)


def setup_product_routes(app: web.Application) -> None:
    app.router.add_get("/products", list_products)
    app.router.add_get("/products/{product_id}", get_product)
    app.router.add_post("/admin/products", create_product)
    app.router.add_post("/admin/products/{product_id}/restock", restock_product)
