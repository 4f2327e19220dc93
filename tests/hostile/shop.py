"""A live shop for the hostile-input suite, and the checks every hostile test ends with.

``open_shop`` starts a real worker and API, seeds an admin and members (with
tokens) and lists products: ``plenty`` (a large stock, a high per-member limit)
and ``scarce``. ``Writes`` is what a request could have written: rows of every
MySQL table and the records in every topic; a refused request must leave it
unchanged. ``audit_clean`` runs the audit (``ops.audit.run_audit``) and
requires exit 0.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from kit.kafka import end_offsets_total
from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from ops.audit import run_audit
from storage.mysql import Cursor, Database
from streams.settings import Settings
from streams.topics import ALL_TOPICS
from tests.support.http import call

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]
TABLES = ("members", "products", "orders", "payments", "gateway_ledger")


@dataclass
class Shop:
    settings: Settings
    base: str
    worker: ManagedProcess
    admin: Member
    members: list[Member]
    plenty: int
    scarce: int

    @property
    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{self.worker.web_port}"]

    async def call(self, method: str, path: str, **options: Any) -> tuple[int, Any]:
        async with aiohttp.ClientSession() as http:
            return await call(http, method, self.base + path, **options)


async def open_shop(
    settings: Settings, start_worker: Workers, start_api: Apis, members: int = 3
) -> Shop:
    worker = start_worker(settings)
    _, base = start_api(settings)
    admin = seed_members(settings, 1, role="admin")[0]
    buyers = seed_members(settings, members)
    plenty = await list_product(base, admin, stock=10_000, per_user_limit=1000)
    scarce = await list_product(base, admin, stock=5, per_user_limit=1)
    return Shop(settings, base, worker, admin, buyers, plenty["product_id"], scarce["product_id"])


def _counts(cur: Cursor) -> dict[str, int]:
    found = {}
    for table in TABLES:
        cur.execute(f"SELECT COUNT(*) AS n FROM {table}")
        found[table] = int(cur.fetchall()[0]["n"])
    return found


async def writes(settings: Settings) -> dict[str, int]:
    """Rows per table and records per topic: what any request could have added."""
    db = Database(settings.mysql_url, size=1)
    try:
        found = await db.run(_counts)
    finally:
        db.close()
    for spec in ALL_TOPICS:
        found[spec.base] = await end_offsets_total(settings, spec.name(settings))
    return found


class Writes:
    """``async with Writes(settings):`` fails if the block wrote anything anywhere."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.before: dict[str, int] = {}

    async def __aenter__(self) -> Writes:
        self.before = await writes(self.settings)
        return self

    async def __aexit__(self, kind: object, *_: object) -> None:
        if kind is None:
            after = await writes(self.settings)
            assert after == self.before, f"refused requests wrote: {self.before} -> {after}"


def assert_contract_error(status: int, body: Any, *codes: str) -> None:
    """A 4xx in the contract's shape (with one of ``codes`` if given), never a 5xx."""
    assert 400 <= status < 500, (status, body)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert isinstance(body["error"].get("code"), str) and body["error"].get("message"), body
    if codes:
        assert body["error"]["code"] in codes, body


async def audit_clean(shop: Shop, acknowledged: set[str] | None = None) -> str:
    out = io.StringIO()
    code = await run_audit(
        shop.settings, shop.worker_urls, timeout=60.0, acknowledged=acknowledged or (), out=out
    )
    assert code == 0, out.getvalue()
    return out.getvalue()
