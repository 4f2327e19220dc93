"""The peer: the simplest durable design a team would pick instead of ours (issue 12).

One aiohttp + uvloop process. ``POST /orders`` verifies the member's JWT (the
tokens our API accepts: ``api.tokens.decode`` with the same secret), makes ONE
Redis Lua call that checks the member's per-user limit and takes the units from
the product's stock, and commits the order row to MySQL before it answers 201
RESERVED; a refusal is 409 REJECTED (SOLD_OUT or LIMIT_EXCEEDED) with no row, as
our sold-out fast path. Rows are group-committed: a background committer inserts
every row that arrived while its previous transaction ran in one transaction.
A failed commit gives the units back and answers 503. (A crash between the Lua
call and the commit loses those units: it undersells, never oversells.)

Its tables (``peer_products``, ``peer_orders``) live in the run's database, its
Redis keys under ``<app id>:peer:``; the bench writes the products and their stock
(``bench/scenarios/peer.py``) and the process loads them at start. Run with the
run's ``FLASHSALE_*`` environment: ``python -m bench.peer --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pymysql import Connection
from redis.asyncio import BlockingConnectionPool, Redis

from api.order_ids import new_order_id
from api.times import rfc3339
from api.tokens import TokenInvalid, decode
from bench.ceiling import serve
from storage.mysql import Cursor, MySQLConfig, connect
from streams.settings import Settings

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS peer_products (product_id BIGINT UNSIGNED PRIMARY KEY,"
    " sale_price BIGINT UNSIGNED NOT NULL, stock INT UNSIGNED NOT NULL,"
    " per_user_limit INT UNSIGNED NOT NULL)",
    "CREATE TABLE IF NOT EXISTS peer_orders (order_id CHAR(36) PRIMARY KEY,"
    " member_id BIGINT UNSIGNED NOT NULL, product_id BIGINT UNSIGNED NOT NULL,"
    " qty INT UNSIGNED NOT NULL, amount BIGINT UNSIGNED NOT NULL,"
    " created_at DATETIME(6) NOT NULL, KEY ix_peer_orders_member (member_id, product_id))",
)
INSERT = "INSERT INTO peer_orders VALUES (%s, %s, %s, %s, %s, FROM_UNIXTIME(%s))"
# KEYS: the product's stock, its buyers (member -> units); ARGV: member, qty, limit.
TAKE = """
local stock = tonumber(redis.call('GET', KEYS[1]) or '0')
local qty, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
if (tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0) + qty > limit then
  return 'LIMIT_EXCEEDED' end
if stock < qty then return 'SOLD_OUT' end
redis.call('DECRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
return 'OK'
"""


def keys(settings: Settings, product_id: int) -> list[str]:
    """A product's stock and its buyers (member -> units taken) in Redis."""
    prefix = f"{settings.app_id}:peer"
    return [f"{prefix}:stock:{product_id}", f"{prefix}:buyers:{product_id}"]


class Peer:
    """The process's state: settings, products, Redis, and the group committer's queue."""

    def __init__(self, settings: Settings, products: dict[int, dict[str, Any]]) -> None:
        self.settings, self.products = settings, products
        self.secret = settings.signing_secret()
        # A pool of 64 connections, as our API's; Redis is this design's truth, so no
        # fallback and no short timeouts.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=64, timeout=30, decode_responses=True
        )
        self.redis = Redis.from_pool(pool)
        self.take = self.redis.register_script(TAKE)
        self.queue: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self.wake = asyncio.Event()

    async def commit(self, row: tuple[Any, ...]) -> None:
        """Wait until ``row`` is committed with the other rows of its round."""
        done = asyncio.get_running_loop().create_future()
        self.queue.append((row, done))
        self.wake.set()
        await done

    async def committer(self) -> None:
        config = MySQLConfig.from_url(self.settings.mysql_url)
        conn: Connection[Cursor] | None = None
        while True:
            await self.wake.wait()
            self.wake.clear()
            batch, self.queue = self.queue, []
            try:
                if conn is None:
                    conn = await asyncio.to_thread(connect, config)
                await asyncio.to_thread(_insert, conn, [row for row, _ in batch])
            except Exception as exc:  # every order of the round gets the failure
                conn = None  # a failed connection is not used again
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)


PEER = web.AppKey("peer", Peer)


def _insert(conn: Connection[Cursor], rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(INSERT, rows)
    conn.commit()


async def create_order(request: web.Request) -> web.Response:
    peer = request.app[PEER]
    try:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        claims = decode(peer.secret, token if scheme == "Bearer" else "")
    except TokenInvalid:
        return web.json_response({"error": {"code": "UNAUTHORIZED"}}, status=401)
    try:
        body = await request.json()
        product, qty = peer.products[int(body["product_id"])], int(body["qty"])
        if qty < 1:
            raise ValueError("qty")
    except (KeyError, ValueError, TypeError):
        return web.json_response({"error": {"code": "BAD_REQUEST"}}, status=400)
    member, product_id = claims.member_id, product["product_id"]
    stock_keys = keys(peer.settings, product_id)
    outcome = await peer.take(stock_keys, [member, qty, product["per_user_limit"]])
    if outcome != "OK":
        body = {"order_id": None, "status": "REJECTED", "reason": outcome}
        return web.json_response(body, status=409)
    order_id, now = new_order_id(), time.time()
    try:
        await peer.commit((order_id, member, product_id, qty, product["sale_price"] * qty, now))
    except Exception:  # not stored: the units go back, the buyer is told to retry
        async with peer.redis.pipeline(transaction=True) as undo:
            undo.incrby(stock_keys[0], qty)
            undo.hincrby(stock_keys[1], str(member), -qty)
            await undo.execute()
        return web.json_response({"error": {"code": "UNAVAILABLE"}}, status=503)
    expires = rfc3339(now + peer.settings.hold_seconds)
    body = {"order_id": order_id, "status": "RESERVED", "expires_at": expires}
    return web.json_response(body, status=201)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def running(app: web.Application) -> AsyncIterator[None]:
    settings = Settings.from_env()
    products = await asyncio.to_thread(_load_products, settings)
    app[PEER] = peer = Peer(settings, products)
    task = asyncio.create_task(peer.committer())
    yield
    task.cancel()
    await peer.redis.aclose()


def _load_products(settings: Settings) -> dict[int, dict[str, Any]]:
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM peer_products")
            return {int(row["product_id"]): row for row in cur.fetchall()}
    finally:
        conn.close()


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(running)
    app.router.add_post("/orders", create_order)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(create_app(), args.port)


if __name__ == "__main__":
    main()
