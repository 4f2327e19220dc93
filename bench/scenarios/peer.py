"""The peer (``bench/peer.py``) under our loads: ``peer`` (throughput) and ``peer-flash``.

Each run gets its own app id and database, members seeded by ``flashsale-admin
seed-members`` (so the tokens are the ones our API accepts), the peer's products
and their stock, one peer process, and wrk with the same shape (members,
products, connections, ``Prefer``) as our scenario of the same run. Every answer
is the decision, so the figures come from wrk alone. Afterwards the peer's own
audit: the units taken from Redis are exactly the units in ``peer_orders``, one
row per 201, no member above the limit, none oversold.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import redis

from bench.context import Context
from bench.peer import SCHEMA, keys
from bench.sale import seed_members, write_targets
from bench.stack import run_settings
from bench.storm import answered_figures, run_storm
from bench.verdicts import check
from kit.namespace import create_database, drop_database, drop_redis_keys
from kit.processes import ManagedProcess, wait_http_ok
from storage.mysql import MySQLConfig, connect
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PER_USER_LIMIT = 1
SALE_PRICE = 5_000


class PeerServer:
    """The peer's process, a storm target like our stack."""

    def __init__(self, settings: Settings, run_dir: Path) -> None:
        self.settings, self.run_dir = settings, run_dir
        argv = [sys.executable, "-m", "bench.peer", "--port", str(settings.api_port)]
        env = {**settings.to_env(), "PYTHONPATH": str(REPO)}
        self.proc = ManagedProcess("peer", argv, env, run_dir / "peer.log", settings.api_port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    def start(self) -> None:
        self.proc.start()
        wait_http_ok(f"{self.base_url}/healthz", self.proc, timeout=30)

    def pids(self) -> dict[str, int]:
        return {"peer": self.proc.pid} if self.proc.alive else {}


def list_products(settings: Settings, count: int, stock: int) -> list[int]:
    """The peer's tables, ``count`` products, and their stock in Redis."""
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    client = redis.Redis.from_url(settings.redis_url)
    try:
        with conn.cursor() as cur:
            for statement in SCHEMA:
                cur.execute(statement)
            rows = [(n, SALE_PRICE, stock, PER_USER_LIMIT) for n in range(1, count + 1)]
            cur.executemany("INSERT INTO peer_products VALUES (%s, %s, %s, %s)", rows)
        conn.commit()
        for product_id, *_ in rows:
            client.set(keys(settings, product_id)[0], stock)
        return [row[0] for row in rows]
    finally:
        conn.close()
        client.close()


def audit(settings: Settings, products: list[int], stock: int) -> dict[str, Any]:
    """What the peer stored against what it took from Redis, as our audit checks ours."""
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    client = redis.Redis.from_url(settings.redis_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT product_id, COUNT(*) n, SUM(qty) units FROM peer_orders GROUP BY 1")
            stored = {int(r["product_id"]): (int(r["n"]), int(r["units"])) for r in cur}
            cur.execute(
                "SELECT COUNT(*) n FROM (SELECT SUM(qty) q FROM peer_orders"
                " GROUP BY member_id, product_id HAVING q > %s) t",
                (PER_USER_LIMIT,),
            )
            over_limit = int((cur.fetchone() or {"n": 0})["n"])
        violations = [f"{over_limit} members above the limit"] if over_limit else []
        for product_id in products:
            stock_key, buyers_key = keys(settings, product_id)
            taken = stock - int(client.get(stock_key) or 0)
            held = sum(int(v) for v in client.hvals(buyers_key))
            units = stored.get(product_id, (0, 0))[1]
            if not taken == held == units <= stock:
                violations.append(f"product {product_id}: taken {taken} held {held} rows {units}")
    finally:
        conn.close()
        client.close()
    return {
        "result": "violations: " + "; ".join(violations) if violations else "clean",
        "rows": sum(n for n, _ in stored.values()),
        "sold": sum(units for _, units in stored.values()),
    }


async def run(ctx: Context, scenario: str) -> dict[str, Any]:
    shape = ctx.shape(scenario)
    run_dir = ctx.run_dir(scenario)
    settings = run_settings(ctx.base, shape, run_dir)
    server = PeerServer(settings, run_dir)
    try:
        await asyncio.to_thread(create_database, settings)
        members = await seed_members(settings, shape.requests)
        stock = shape.units_per_product()
        products = await asyncio.to_thread(list_products, settings, shape.products, stock)
        write_targets(run_dir / "targets.txt", members, products)
        await asyncio.to_thread(server.start)
        summary, meter = await run_storm(ctx, server, scenario, shape)
        result = answered_figures(summary)
        result["audit"] = await asyncio.to_thread(audit, settings, products, stock)
    finally:
        await asyncio.to_thread(server.proc.stop)
        if not ctx.keep:
            await asyncio.to_thread(drop_redis_keys, settings)
            await asyncio.to_thread(drop_database, settings)
    result["outcomes"] = {"RESERVED": result["audit"]["sold"]}
    result["extra"] = {"MySQL": "every row committed before its 201 (group commit)"}
    result["checks"] = verdicts(result, shape.requests, shape.stock)
    return {**ctx.describe(scenario, scenario, shape), **result, "cpu": meter.shares}


def verdicts(result: dict[str, Any], requests: int, stock: int) -> list[dict[str, Any]]:
    statuses, audited = result["statuses"], result["audit"]
    sold, wanted = audited["sold"], stock or requests  # stock 0: enough for every order
    return [
        check("no 5xx", result["errors"]["5xx"] == 0, result["errors"]),
        check("every answer a decision", result["decided"] == requests, statuses),
        check("a row for every 201", audited["rows"] == statuses.get("201", 0), audited["rows"]),
        check("audit clean", audited["result"] == "clean", audited["result"]),
        check(f"exactly {wanted:,} sold", sold == wanted, f"{sold:,} sold"),
    ]


async def run_throughput(ctx: Context) -> dict[str, Any]:
    return await run(ctx, "peer")


async def run_flash(ctx: Context) -> dict[str, Any]:
    return await run(ctx, "peer-flash")
