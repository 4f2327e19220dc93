"""Hostile values in every field of every endpoint, against the live API.

SQL and JSON injection strings, 10,000-character strings, deeply nested JSON,
unicode edge cases and every wrong kind of ``qty``: never a 5xx; a refusal is a
4xx in the contract's shape and writes nothing (no row in any table, no record
in any topic); a value that is legitimately accepted (a name may contain a
quote) is stored exactly as sent, never interpreted. Afterwards the audit is clean.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from streams.settings import Settings
from tests.hostile.shop import (
    Apis,
    Shop,
    Workers,
    Writes,
    assert_contract_error,
    audit_clean,
    open_shop,
)

pytestmark = [pytest.mark.integration, pytest.mark.hostile]

INJECTIONS: list[Any] = [
    "' OR '1'='1",
    "1; DROP TABLE orders; --",
    '" OR ""="',
    "1 UNION SELECT password_hash FROM members",
    "admin'--",
    "1' AND SLEEP(5)#",
    "\\'; SHUTDOWN; --",
    '{"$gt": ""}',
    "${jndi:ldap://127.0.0.1/x}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    {"$gt": ""},
    {"$where": "1 == 1"},
    ["1", "2"],
    [{"product_id": 1}],
    True,
]
LONG = "x" * 10_000
UNICODE = [
    "\u0000",
    "\ud800",
    "\udfff",
    "a\u202eb",
    "\ufeff",
    "\u200b",
    "\uffff",
    "e\u0301" * 50,
    "\U0001d54f" * 3,
    "👩\u200d👩\u200d👧",
]
QTYS: list[Any] = [-1, 0, 10**30, 2**63, 1.0, 1.5, "1", "one", True, None, [], {}, "1e3", 1e308]

ORDER = {"product_id": 1, "qty": 1}
PRODUCT = {"name": "Thing", "price": 1000, "sale_price": 900, "stock": 10}
SIGNUP = {"email": "hostile@example.com", "password": "12345678", "name": "Hostile"}


def _bodies(valid: dict[str, Any], values: list[Any]) -> list[tuple[str, Any]]:
    return [(field, {**valid, field: value}) for field in valid for value in values]


async def _refused(shop: Shop, method: str, path: str, token: str | None, body: Any) -> None:
    status, answer = await shop.call(method, path, token=token, body=body)
    assert_contract_error(status, answer)


async def test_injection_strings_are_refused_or_stored_verbatim(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    member, admin = shop.members[0].token, shop.admin.token
    order = {**ORDER, "product_id": shop.plenty}
    async with Writes(shop.settings):
        for _, body in _bodies(order, INJECTIONS):
            await _refused(shop, "POST", "/orders", member, body)
        for field, body in _bodies(PRODUCT, INJECTIONS):
            if field != "name" or not isinstance(body[field], str):
                await _refused(shop, "POST", "/admin/products", admin, body)
        for _, body in _bodies({"qty": 1}, INJECTIONS):
            await _refused(shop, "POST", f"/admin/products/{shop.plenty}/restock", admin, body)
        for field, body in _bodies(SIGNUP, INJECTIONS):
            if field == "email" or not isinstance(body[field], str):
                await _refused(shop, "POST", "/auth/signup", None, body)
        for _, body in _bodies({"email": "a@example.com", "password": "12345678"}, INJECTIONS):
            await _refused(shop, "POST", "/auth/login", None, body)
        for _, body in _bodies({"refresh_token": "x"}, INJECTIONS):
            await _refused(shop, "POST", "/auth/refresh", None, body)
        await _paths_and_headers_refused(shop, [v for v in INJECTIONS if isinstance(v, str)])
    await _stored_verbatim(shop, [v for v in INJECTIONS if isinstance(v, str)])
    taken = await _odd_preferences_are_ignored(shop, [v for v in INJECTIONS if isinstance(v, str)])
    await audit_clean(shop, acknowledged=taken)


async def _paths_and_headers_refused(shop: Shop, values: list[str]) -> None:
    member = shop.members[0].token
    for value in values:
        quoted = value.replace("/", "%2F").replace("#", "%23").replace("?", "%3F")
        for method, path in (
            ("GET", f"/orders/{quoted}"),
            ("POST", f"/orders/{quoted}/pay"),
            ("POST", f"/orders/{quoted}/cancel"),
            ("GET", f"/products/{quoted}"),
        ):
            status, answer = await shop.call(method, path, token=member)
            assert_contract_error(status, answer, "NOT_FOUND")
        status, answer = await shop.call("GET", "/me", headers={"Authorization": value})
        assert_contract_error(status, answer, "UNAUTHENTICATED")


async def _odd_preferences_are_ignored(shop: Shop, values: list[str]) -> set[str]:
    """A ``Prefer`` header it cannot read is ignored (RFC 7240): the order is taken."""
    taken = set()
    for value in values:
        body = {**ORDER, "product_id": shop.plenty}
        headers = {"Prefer": value}
        status, answer = await shop.call(
            "POST", "/orders", token=shop.members[1].token, body=body, headers=headers
        )
        assert status in (201, 202), (value, status, answer)
        taken.add(answer["order_id"])
    return taken


async def _stored_verbatim(shop: Shop, values: list[str]) -> None:
    """Names and passwords may be anything printable: stored and given back as sent."""
    for number, value in enumerate(values):
        email = f"verbatim{number}@example.com"
        password = f"password-{value}"
        status, answer = await shop.call(
            "POST", "/auth/signup", body={"email": email, "password": password, "name": value}
        )
        assert status == 201, answer
        status, pair = await shop.call(
            "POST", "/auth/login", body={"email": email, "password": password}
        )
        assert status == 200, pair
        status, me = await shop.call("GET", "/me", token=pair["access_token"])
        assert status == 200 and me["name"] == value and me["role"] == "member", me
        product = {**PRODUCT, "name": value}
        status, listed = await shop.call(
            "POST", "/admin/products", token=shop.admin.token, body=product
        )
        assert status == 201 and listed["name"] == value, listed
        status, got = await shop.call("GET", f"/products/{listed['product_id']}")
        assert status == 200 and got["name"] == value, got


async def test_huge_strings_deep_nesting_and_unicode_are_refused(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    member, admin = shop.members[0].token, shop.admin.token
    order = {**ORDER, "product_id": shop.plenty}
    strange = [LONG, *UNICODE]
    async with Writes(shop.settings):
        for _, body in _bodies(order, strange):
            await _refused(shop, "POST", "/orders", member, body)
        for _, body in _bodies(SIGNUP, [LONG, *UNICODE[:3]]):
            await _refused(shop, "POST", "/auth/signup", None, body)
        for _, body in _bodies(PRODUCT, [LONG, *UNICODE[:3]]):
            await _refused(shop, "POST", "/admin/products", admin, body)
        for depth in (50, 1000, 20_000):
            nested: Any = 1
            for _ in range(min(depth, 900)):
                nested = [nested]
            await _refused(shop, "POST", "/orders", member, {**order, "qty": nested})
            raw = "[" * depth + "]" * depth
            await _refused_raw(shop, "/orders", member, raw)
            await _refused_raw(shop, "/orders", member, '{"qty": ' + '{"a": ' * depth + "1")
        for raw_bytes in (b"\xff\xfe\x00", b'{"qty": "\xc0\xaf"}', b"\xef\xbb\xbf{}", b"\x00" * 10):
            await _refused_raw(shop, "/orders", member, raw_bytes)
        await _long_paths_and_headers(shop)
    await _stored_verbatim(shop, UNICODE[3:])
    await audit_clean(shop)


async def _refused_raw(shop: Shop, path: str, token: str, raw: str | bytes) -> None:
    headers = {"Content-Type": "application/json"}
    status, answer = await shop.call("POST", path, token=token, data=raw, headers=headers)
    assert_contract_error(status, answer)


async def _long_paths_and_headers(shop: Shop) -> None:
    """Beyond the HTTP parser's limits (8 KiB a line) the answer is a plain 4xx from
    the server itself, before the app sees the request; below them, the app's 4xx."""
    member = shop.members[0].token
    for size in (1000, 10_000):
        status, answer = await _tolerant(shop, "GET", "/orders/" + "a" * size, member)
        assert status == 404 if size < 8000 else 400 <= status < 500, (size, status, answer)
        status, answer = await _tolerant(
            shop, "POST", "/orders", member, {"Idempotency-Key": "k" * size}
        )
        assert status == 422 if size < 8000 else 400 <= status < 500, (size, status, answer)
        status, answer = await _tolerant(shop, "GET", "/me", "t" * size)
        assert status == 401 if size < 8000 else 400 <= status < 500, (size, status, answer)


async def _tolerant(
    shop: Shop, method: str, path: str, token: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent |= headers or {}
    body = json.dumps(ORDER) if method == "POST" else None
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, shop.base + path, data=body, headers=sent) as resp,
    ):
        return resp.status, await resp.text()


async def test_every_wrong_qty_is_refused_and_orders_nothing(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    member, admin = shop.members[0].token, shop.admin.token
    async with Writes(shop.settings):
        for qty in [*QTYS, 1001]:  # the product's per-member limit is 1000
            body = {"product_id": shop.plenty, "qty": qty}
            status, answer = await shop.call("POST", "/orders", token=member, body=body)
            assert_contract_error(status, answer, "VALIDATION_FAILED")
            assert answer["error"].get("field") == "qty", answer
        for qty in QTYS:
            restock = f"/admin/products/{shop.plenty}/restock"
            status, answer = await shop.call("POST", restock, token=admin, body={"qty": qty})
            assert_contract_error(status, answer, "VALIDATION_FAILED")
    await audit_clean(shop)
