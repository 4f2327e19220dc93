"""Catalog reads: product fields from a Redis cache (MySQL is the truth and the
fallback), with ``remaining`` and ``sold_out`` from the stock agent's projection.

Cache entries: ``product_cache_key`` (one product, 60 s) and ``catalog_key`` (the list,
5 s). Readers fill a missing entry with SET NX, while admin writes overwrite it
after their MySQL commit, so a reader holding an older row never replaces a
newer one; if such a write was lost to a Redis outage, the TTL bounds the
staleness. The projection hash (``stock_key``) is written by the stock agent;
until it exists, ``remaining`` equals ``stock``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from aiohttp import web
from redis.exceptions import RedisError

from api.app_keys import DATABASE, RECENT_PRODUCTS, REDIS, SETTINGS
from api.times import datetime_rfc3339
from storage import products as product_sql
from streams.redis_keys import catalog_key, product_cache_key, stock_key

PRODUCT_TTL_SECONDS = 60
CATALOG_TTL_SECONDS = 5
MAX_PRODUCT_ID = 2**63 - 1
Fields = dict[str, Any]


def catalog_fields(row: dict[str, Any]) -> Fields:
    """The cached part of a Product: everything but the live stock figures."""
    fields = {name: row[name] for name in ("product_id", "name", "price", "sale_price")}
    fields |= {"stock": int(row["stock"]), "per_user_limit": int(row["per_user_limit"])}
    fields["sale_starts_at"] = datetime_rfc3339(row["sale_starts_at"])
    fields["sale_ends_at"] = datetime_rfc3339(row["sale_ends_at"])
    return fields


def with_stock(fields: Fields, projection: dict[str, str] | None) -> Fields:
    remaining = fields["stock"]
    if projection and projection.get("remaining") not in (None, ""):
        remaining = max(0, int(projection["remaining"]))
    return {**fields, "remaining": remaining, "sold_out": remaining == 0}


async def _cache_set(app: web.Application, key: str, value: Any, ttl: int, nx: bool) -> None:
    # The cache is optional; the TTL bounds what a missed write leaves stale.
    with contextlib.suppress(RedisError, OSError):
        await app[REDIS].set(key, json.dumps(value), ex=ttl, nx=nx)


async def _cached(
    app: web.Application, json_keys: list[str], hash_keys: list[str]
) -> tuple[list[Any], list[dict[str, str]]] | None:
    """JSON values (None when absent) and hashes, in one round trip; None if Redis is down."""
    try:
        async with app[REDIS].pipeline(transaction=False) as pipe:
            for key in json_keys:
                pipe.get(key)
            for key in hash_keys:
                pipe.hgetall(key)
            values = await pipe.execute()
    except (RedisError, OSError):
        return None
    head = values[: len(json_keys)]
    return [None if v is None else json.loads(v) for v in head], values[len(json_keys) :]


async def get_product(app: web.Application, product_id: int) -> Fields | None:
    """The contract's Product, or None if there is no such product (always a fresh read)."""
    found = await _product_and_stock(app, product_id, reuse_recent=False)
    return None if found is None else with_stock(*found)


async def product_to_order(app: web.Application, product_id: int) -> Fields | None:
    """The catalog fields an order needs, None if there is no such product: from this
    process's memory once read (they never change once listed; api/recent_products.py)."""
    if not 1 <= product_id <= MAX_PRODUCT_ID:
        return None
    fields = app[RECENT_PRODUCTS].fields(product_id)
    if fields is not None:
        return fields
    found = await _product_and_stock(app, product_id, reuse_recent=True)
    return None if found is None else found[0]


async def published_sold_out(app: web.Application, product_id: int) -> bool:
    """Whether the stock agent has published the product sold out (read from Redis; a
    read of the last 100 ms is reused). Unlike ``sold_out`` in the Product, a product
    whose stock was never published does not count: the stock agent decides its orders.
    For when the pushed sold-out set cannot be trusted (api/pushed_state.py)."""
    found = await _product_and_stock(app, product_id, reuse_recent=True)
    if found is None:
        return False
    projection = found[1]
    return projection is not None and projection.get("remaining") == "0"


async def published_remaining(app: web.Application, product_id: int) -> int | None:
    """The units left as the stock agent last published them (one HGET, read afresh),
    None if never published or unreadable now."""
    try:
        left = await app[REDIS].hget(stock_key(app[SETTINGS], product_id), "remaining")
        return None if left is None else int(left)
    except (RedisError, OSError, ValueError):
        return None


async def _product_and_stock(
    app: web.Application, product_id: int, reuse_recent: bool
) -> tuple[Fields, dict[str, str] | None] | None:
    """Catalog fields and the stock projection's hash, in one Redis round trip, or, with
    ``reuse_recent``, as read in the last 100 ms."""
    if not 1 <= product_id <= MAX_PRODUCT_ID:
        return None
    recent = app[RECENT_PRODUCTS].get(product_id) if reuse_recent else None
    if recent is not None:
        return recent
    settings = app[SETTINGS]
    cached = await _cached(
        app, [product_cache_key(settings, product_id)], [stock_key(settings, product_id)]
    )
    fields, projection = (cached[0][0], cached[1][0]) if cached else (None, None)
    if fields is None:
        row = await app[DATABASE].run(lambda cur: product_sql.by_id(cur, product_id))
        if row is None:
            return None
        fields = catalog_fields(row)
        if cached is not None:
            await _cache_set(
                app, product_cache_key(settings, product_id), fields, PRODUCT_TTL_SECONDS, nx=True
            )
    app[RECENT_PRODUCTS].remember(product_id, (fields, projection))
    return fields, projection


async def list_products(app: web.Application) -> list[Fields]:
    settings = app[SETTINGS]
    cached = await _cached(app, [catalog_key(settings)], [])
    listing = cached[0][0] if cached else None
    if listing is None:
        rows = await app[DATABASE].run(product_sql.all_products)
        listing = [catalog_fields(row) for row in rows]
        if cached is not None:
            await _cache_set(app, catalog_key(settings), listing, CATALOG_TTL_SECONDS, nx=True)
    keys = [stock_key(settings, fields["product_id"]) for fields in listing]
    stock = await _cached(app, [], keys) if keys else None
    projections: list[dict[str, str] | None] = list(stock[1]) if stock else [None] * len(keys)
    products = []
    for fields, projection in zip(listing, projections, strict=True):
        # A buyer who saw units come back here must not be refused by an older read.
        app[RECENT_PRODUCTS].remember(fields["product_id"], (fields, projection))
        products.append(with_stock(fields, projection))
    return products


async def publish_changed(app: web.Application, row: dict[str, Any]) -> Fields:
    """After an admin write: overwrite the product's entry, drop the list; its fields."""
    fields = catalog_fields(row)
    settings = app[SETTINGS]
    app[RECENT_PRODUCTS].forget(fields["product_id"])
    await _cache_set(
        app,
        product_cache_key(settings, fields["product_id"]),
        fields,
        PRODUCT_TTL_SECONDS,
        nx=False,
    )
    with contextlib.suppress(RedisError, OSError):
        await app[REDIS].delete(catalog_key(settings))
    return fields
