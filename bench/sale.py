"""Setting up a sale for a run: seeded members with tokens, an admin, listed products.

Members come from ``flashsale-admin seed-members`` (JSON lines ``{"member_id",
"email", "access_token"}``); products are listed through the real admin API, and
a product counts as ready once the stock agent has published its stock.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.procs import VENV_BIN
from streams.settings import Settings


@dataclass(frozen=True)
class Member:
    member_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def seed_members(settings: Settings, count: int, ttl: int = 3600) -> list[Member]:
    argv = [str(VENV_BIN / "flashsale-admin"), "seed-members", "--count", str(count)]
    argv += ["--ttl", str(ttl)]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **settings.to_env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"flashsale-admin seed-members failed: {err.decode()[-2000:]}")
    members = []
    for line in out.decode().splitlines():
        if line.strip():
            row = json.loads(line)
            members.append(Member(int(row["member_id"]), row["access_token"]))
    if len(members) != count:
        raise RuntimeError(f"seed-members printed {len(members)} members, not {count}")
    return members


async def admin_token(http: aiohttp.ClientSession, base: str, settings: Settings) -> str:
    body = {"email": settings.admin_email, "password": settings.admin_password}
    async with http.post(f"{base}/auth/login", json=body) as resp:
        if resp.status != 200:
            raise RuntimeError(f"admin login failed: {resp.status} {await resp.text()}")
        return str((await resp.json())["access_token"])


async def list_product(
    http: aiohttp.ClientSession, base: str, token: str, stock: int, per_user_limit: int
) -> int:
    body = {
        "name": "Bench item",
        "price": 10_000,
        "sale_price": 5_000,
        "stock": stock,
        "per_user_limit": per_user_limit,
    }
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{base}/admin/products", json=body, headers=headers) as resp:
        if resp.status != 201:
            raise RuntimeError(f"listing a product failed: {resp.status} {await resp.text()}")
        return int((await resp.json())["product_id"])


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
    """``count`` products of ``stock`` units each, ready for orders."""
    async with aiohttp.ClientSession() as http:
        token = await admin_token(http, base, settings)
        ids = [await list_product(http, base, token, stock, per_user_limit) for _ in range(count)]
        for product_id in ids:
            await wait_stock_known(http, base, product_id)
    return ids


def write_targets(path: Path, members: list[Member], product_ids: list[int]) -> Path:
    """One order a line for wrk: member ``i`` orders product ``i mod len(product_ids)``."""
    with path.open("w") as out:
        for i, member in enumerate(members):
            out.write(f"{member.token} {product_ids[i % len(product_ids)]}\n")
    return path
