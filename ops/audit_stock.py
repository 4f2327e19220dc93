"""``remaining`` per product for the audit: the live stock tables first, Redis second.

Each worker serves the product records of the partitions it owns at ``GET
/stock/`` on its web port (agents/stock_inspection.py). A product no worker
reported (a worker down, or its partitions not assigned right now) is read from
the stock agent's Redis projection instead, which lags the table by one flush at
most and equals it once the system is quiet. ``StockSource`` says where each
figure came from, so the report can name it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from redis.exceptions import RedisError

from storage.redis import create_redis
from streams.redis_keys import stock_key
from streams.settings import Settings

TIMEOUT_SECONDS = 5.0


@dataclass
class StockSource:
    remaining: dict[int, int] = field(default_factory=dict)
    from_workers: int = 0
    from_redis: int = 0
    silent_workers: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = f"remaining from workers: {self.from_workers} product(s), Redis: {self.from_redis}"
        if self.silent_workers:
            text += f" (no answer from {', '.join(self.silent_workers)})"
        return text


def default_worker_urls(settings: Settings) -> list[str]:
    """Worker N on 6066 + N - 1, for the FLASHSALE_WORKERS workers ``make up`` starts."""
    ports = (settings.worker_web_port(n) for n in range(1, settings.workers + 1))
    return [f"http://127.0.0.1:{port}" for port in ports]


async def _products_of(http: aiohttp.ClientSession, url: str) -> list[dict[str, Any]] | None:
    try:
        async with http.get(f"{url.rstrip('/')}/stock/") as resp:
            resp.raise_for_status()
            return list((await resp.json())["products"])
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError):
        return None


async def from_workers(urls: list[str]) -> tuple[dict[int, dict[str, Any]], list[str]]:
    """Product records by id (the latest ``last_offset`` wins), and the URLs that failed."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        answers = await asyncio.gather(*(_products_of(http, url) for url in urls))
    products: dict[int, dict[str, Any]] = {}
    for answer in answers:
        for record in answer or ():
            pid = int(record["product_id"])
            known = products.get(pid)
            if known is None or record["last_offset"] > known["last_offset"]:
                products[pid] = record
    failed = [url for url, answer in zip(urls, answers, strict=True) if answer is None]
    return products, failed


async def from_redis(settings: Settings, product_ids: Iterable[int]) -> dict[int, int]:
    """``remaining`` of each product the Redis projection knows; {} if Redis is down."""
    wanted = sorted(product_ids)
    if not wanted:
        return {}
    redis = create_redis(settings.redis_url)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for pid in wanted:
                pipe.hget(stock_key(settings, pid), "remaining")
            values = await pipe.execute()
    except (RedisError, OSError):
        return {}
    finally:
        await redis.aclose()
    return {pid: int(v) for pid, v in zip(wanted, values, strict=True) if v not in (None, "")}


async def remaining_stock(settings: Settings, urls: list[str], listed: set[int]) -> StockSource:
    """``remaining`` of every product the workers know, and of each listed one via Redis
    where no worker reported it."""
    records, failed = await from_workers(urls) if urls else ({}, [])
    source = StockSource(silent_workers=failed)
    source.remaining = {pid: int(r["remaining"]) for pid, r in records.items()}
    source.from_workers = len(source.remaining)
    fallback = await from_redis(settings, listed - set(records))
    source.remaining.update(fallback)
    source.from_redis = len(fallback)
    return source
