"""Setting up a sale for a run: seeded members with tokens, listed products (``kit.sale``).

A product counts as ready once the stock agent has published its stock; wrk reads
the orders from a targets file.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

import kit.sale
from kit.sale import Member, list_product
from streams.settings import Settings


async def seed_members(settings: Settings, count: int) -> list[Member]:
    """``count`` members, their token versions in Redis as ``flashsale-admin seed-members``
    writes them, so that a member's first order costs the API no MySQL read."""
    return await asyncio.to_thread(kit.sale.seed_members, settings, count, token_versions=True)


async def wait_stock_known(
    http: aiohttp.ClientSession, base: str, product_id: int, within: float = 60.0
) -> None:
    """Wait until the product shows stock for sale (the stock agent has listed it)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with http.get(f"{base}/products/{product_id}") as resp:
            if resp.status == 200 and (await resp.json()).get("remaining"):
                return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"product {product_id} has no stock for sale after {within}s")


async def list_products(
    base: str, settings: Settings, count: int, stock: int, per_user_limit: int = 1
) -> list[int]:
    """``count`` products of ``stock`` units each, listed by a seeded admin, ready for orders."""
    (admin,) = await asyncio.to_thread(kit.sale.seed_members, settings, 1, role="admin")
    ids = []
    for _ in range(count):
        product = await list_product(base, admin, stock, per_user_limit, name="Bench item")
        ids.append(int(product["product_id"]))
    async with aiohttp.ClientSession() as http:
        for product_id in ids:
            await wait_stock_known(http, base, product_id)
    return ids


def write_targets(path: Path, members: list[Member], product_ids: list[int]) -> Path:
    """One order a line for wrk: member ``i`` orders product ``i mod len(product_ids)``."""
    with path.open("w") as out:
        for i, member in enumerate(members):
            out.write(f"{member.token} {product_ids[i % len(product_ids)]}\n")
    return path
