"""Looking at the live stock: worker web views and ``faust -A streams.app stock``.

Each worker serves, on its Faust web port (6066 + N - 1):

- ``GET /stock/``: the product records of the partitions it owns, as JSON;
- ``GET /metrics``: its Prometheus metrics (agents/worker_metrics.py, docs/metrics.md).

``faust -A streams.app stock`` asks every stock worker running now (the members
of the stock role's consumer group, as Kafka describes it: streams/group_members.py),
or the ``--url``s given, and prints product, remaining, held, sold and stock, as a
table or, with ``--json``, as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
from faust.cli import option
from faust.web import Request, Response, View

from agents.reserve_stock import product_records
from streams.app import app, settings
from streams.group_members import running_role_urls
from tables.stock_records import JsonObject, stock_summary

HEADERS = ["product", "remaining", "held", "sold", "stock", "listed", "offset"]


@app.page("/stock/")
async def stock_table(web: View, request: Request) -> Response:
    rows = sorted((stock_summary(r) for r in product_records()), key=lambda r: r["product_id"])
    return web.json({"products": rows})


async def fetch_products(urls: list[str]) -> tuple[list[JsonObject], list[str]]:
    """Every worker's products (a partition has one owner), and the URLs that failed."""
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        answers = await asyncio.gather(*(_products_of(http, url) for url in urls))
    products = [p for answer in answers if answer is not None for p in answer]
    failed = [url for url, answer in zip(urls, answers, strict=True) if answer is None]
    return sorted(products, key=lambda p: p["product_id"]), failed


async def _products_of(http: aiohttp.ClientSession, url: str) -> list[JsonObject] | None:
    try:
        async with http.get(f"{url.rstrip('/')}/stock/") as resp:
            resp.raise_for_status()
            return list((await resp.json())["products"])
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
        return None


def rows(products: list[JsonObject]) -> list[list[str]]:
    names = ("product_id", "remaining", "held", "sold", "stock", "listed", "last_offset")
    return [[str(p[name]) for name in names] for p in products]


@app.command(
    option("--url", "urls", multiple=True, help="a worker's web URL; default: every worker"),
    option("--json", "as_json", is_flag=True, help="one JSON object instead of a table"),
)
async def stock(self: Any, urls: tuple[str, ...], as_json: bool) -> None:
    """Print the live stock table (remaining, held, sold per product) of the workers."""
    asked = list(urls) or await running_role_urls(settings, "stock")
    products, failed = await fetch_products(asked)
    for url in failed:
        print(f"no answer from the worker at {url}", file=sys.stderr)
    if as_json:
        answered = [url for url in asked if url not in failed]
        print(json.dumps({"workers": answered, "products": products}))
    else:
        table = self.tabulate(rows(products), headers=HEADERS, title="Stock", wrap_last_row=False)
        self.say(table)
    if failed:
        sys.exit(1)
