"""Units sold and revenue per product per minute as Faust windowed tables (the analytics role).

Not loaded by the stock or saga workers, nor started by ``make up``: run it with
``FLASHSALE_WORKER_ROLE=analytics faust -A streams.app worker --web-port 6266``. It is
the Faust twin of the outside example consumer (analytics/sales_per_minute.py): its
own consumer group (``<app_id>-analytics``), the same rule (an order counts once when
it becomes PAID, by ``order_id``), minutes of the transition's ``updated_at``.

- ``GET /sales/`` on its web port: every (minute, product) row it holds;
- ``faust -A streams.app sales [--json]``: asks every analytics worker (the members
  of its group, streams/group_members.py) and prints the rows.

Limits: the tables live 24 hours (``expires``); after a crash of this worker an event
at the crash point can be counted twice or not at all, since the counters and the
dedupe mark go to two changelogs without a transaction. MySQL and the outside
consumer are the exact figures.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import faust
from faust.cli import option
from faust.web import Request, Response, View

from streams.app import app, order_events, settings
from streams.group_members import running_role_urls
from streams.statuses import PAID

MINUTE = 60.0
KEPT = timedelta(hours=24)
HEADERS = ["minute", "product", "units sold", "revenue"]


def minute_of(epoch_seconds: float) -> str:
    """The UTC minute a window starts at, e.g. ``2026-11-30T10:41Z``."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%MZ")


def updated_at(event: faust.types.EventT | None) -> float:
    """A window is the minute of the transition, not of the Kafka record."""
    assert event is not None
    value: Any = event.value  # the order event's JSON, decoded by the topic
    return float(value["updated_at"])


units_sold = (
    app.Table("units_sold_per_minute", default=int, partitions=settings.partitions)
    .tumbling(MINUTE, expires=KEPT)
    .clone(relative_to=updated_at)
)
revenue = (
    app.Table("revenue_per_minute", default=int, partitions=settings.partitions)
    .tumbling(MINUTE, expires=KEPT)
    .clone(relative_to=updated_at)
)
# Orders counted as sold (the dedupe: OrderPaid again, or RefundRequested, also say PAID).
counted = app.Table("sold_orders", default=bool, partitions=settings.partitions)


@app.agent(order_events)
async def count_sales(events: faust.StreamT[Any]) -> None:
    async for event in events:
        if event["status"] != PAID or counted[event["order_id"]]:
            continue
        units_sold[event["product_id"]] += event["qty"]
        revenue[event["product_id"]] += event["amount"]
        counted[event["order_id"]] = True


def windows(wrapper: Any) -> dict[tuple[int, float], int]:
    """A windowed table's values by (product, window start). The store gives keys
    back as JSON decoded them: ``[product, [start, end]]``."""
    return {(key[0], float(key[1][0])): value for key, value in wrapper.table.data.items()}


def sales_rows() -> list[dict[str, Any]]:
    """Every (minute, product) this worker holds, from the tables' windows."""
    money = windows(revenue)
    rows = [
        {
            "minute": minute_of(start),
            "product_id": product,
            "units_sold": units,
            "revenue": money.get((product, start), 0),
        }
        for (product, start), units in windows(units_sold).items()
    ]
    return sorted(rows, key=lambda r: (r["minute"], r["product_id"]))


@app.page("/sales/")
async def sales_page(web: View, request: Request) -> Response:
    return web.json({"rows": sales_rows()})


async def fetch_rows(urls: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for url in urls:
            try:
                async with http.get(f"{url}/sales/") as resp:
                    resp.raise_for_status()
                    rows += (await resp.json())["rows"]
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                sys.exit(f"no answer from the analytics worker at {url}: {exc}")
    return sorted(rows, key=lambda r: (r["minute"], r["product_id"]))


@app.command(option("--json", "as_json", is_flag=True, help="JSON lines instead of a table"))
async def sales(self: Any, as_json: bool) -> None:
    """Print units sold and revenue per product per minute from the analytics workers."""
    urls = await running_role_urls(settings, "analytics")
    rows = await fetch_rows(urls)
    if as_json:
        sys.stdout.write("".join(json.dumps(row) + "\n" for row in rows))
        return
    cells = [
        [r["minute"], str(r["product_id"]), str(r["units_sold"]), str(r["revenue"])] for r in rows
    ]
    self.say(self.tabulate(cells, headers=HEADERS, title="Sales per minute", wrap_last_row=False))
