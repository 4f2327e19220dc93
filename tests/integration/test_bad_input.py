"""Every class of bad input on every endpoint that takes a body, against the real API.

Not JSON → 415, over 64 KiB → 413, malformed JSON → 400, not an object → 422,
and per-field schema violations → 422 naming the field; always the contract's
error shape, never a 5xx.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from kit.processes import ManagedProcess
from streams.settings import Settings
from tests.support.http import call, error_code

pytestmark = pytest.mark.integration

ApiFactory = Callable[..., tuple[ManagedProcess, str]]
PRODUCT = {"name": "Thing", "price": 1000, "sale_price": 900, "stock": 10}

# path -> (who calls it, a valid body, [(bad body, field at fault)])
FIELD_CASES: dict[str, tuple[str, dict[str, Any], list[tuple[dict[str, Any], str]]]] = {
    "/auth/signup": (
        "anyone",
        {"email": "e@example.com", "password": "12345678", "name": "E"},
        [
            ({"password": "12345678", "name": "E"}, "email"),
            ({"email": "not-an-email", "password": "12345678", "name": "E"}, "email"),
            ({"email": "a b@example.com", "password": "12345678", "name": "E"}, "email"),
            ({"email": 7, "password": "12345678", "name": "E"}, "email"),
            ({"email": "x" * 250 + "@example.com", "password": "12345678", "name": "E"}, "email"),
            ({"email": "e@example.com", "password": "1234567", "name": "E"}, "password"),
            ({"email": "e@example.com", "password": ["12345678"], "name": "E"}, "password"),
            ({"email": "e@example.com", "password": "12345678", "name": "  "}, "name"),
            ({"email": "e@example.com", "password": "12345678", "name": "x" * 101}, "name"),
            ({"email": "e@example.com", "password": "12345678", "name": "a\u0000b"}, "name"),
            ({"email": "e@example.com", "password": "12345678", "name": "\ud800"}, "name"),
        ],
    ),
    "/auth/login": (
        "anyone",
        {"email": "e@example.com", "password": "12345678"},
        [
            ({"password": "12345678"}, "email"),
            ({"email": "e@example.com"}, "password"),
            ({"email": "e@example.com", "password": None}, "password"),
            ({"email": True, "password": "12345678"}, "email"),
        ],
    ),
    "/auth/refresh": (
        "anyone",
        {"refresh_token": "x"},
        [
            ({}, "refresh_token"),
            ({"refresh_token": 1}, "refresh_token"),
            ({"refresh_token": ""}, "refresh_token"),
        ],
    ),
    "/admin/products": (
        "admin",
        PRODUCT,
        [
            ({**PRODUCT, "name": ""}, "name"),
            ({**PRODUCT, "price": -1}, "price"),
            ({**PRODUCT, "price": 10.5}, "price"),
            ({**PRODUCT, "price": "1000"}, "price"),
            ({**PRODUCT, "price": True}, "price"),
            ({**PRODUCT, "sale_price": 1001}, "sale_price"),
            ({**PRODUCT, "stock": 10**10}, "stock"),
            ({k: v for k, v in PRODUCT.items() if k != "stock"}, "stock"),
            ({**PRODUCT, "per_user_limit": 0}, "per_user_limit"),
            ({**PRODUCT, "sale_starts_at": "tomorrow"}, "sale_starts_at"),
            ({**PRODUCT, "sale_starts_at": "2030-01-01T00:00:00"}, "sale_starts_at"),
            ({**PRODUCT, "sale_starts_at": "0001-01-01T00:00:00+01:00"}, "sale_starts_at"),
            ({**PRODUCT, "sale_ends_at": 1700000000}, "sale_ends_at"),
            (
                {
                    **PRODUCT,
                    "sale_starts_at": "2030-01-02T00:00:00Z",
                    "sale_ends_at": "2030-01-01T00:00:00Z",
                },
                "sale_ends_at",
            ),
        ],
    ),
    "/admin/products/{pid}/restock": (
        "admin",
        {"qty": 1},
        [
            ({}, "qty"),
            ({"qty": 0}, "qty"),
            ({"qty": 1.0}, "qty"),
            ({"qty": False}, "qty"),
            ({"qty": 4_000_000_000}, "qty"),
        ],
    ),
    "/orders": (
        "member",
        {"product_id": 1, "qty": 1},
        [
            ({"qty": 1}, "product_id"),
            ({"product_id": "1", "qty": 1}, "product_id"),
            ({"product_id": 1, "qty": 0}, "qty"),
            ({"product_id": 1, "qty": 1.5}, "qty"),
            ({"product_id": 1, "qty": True}, "qty"),
        ],
    ),
}

# (raw body, content type, status, code)
ENVELOPE_CASES = [
    (b'{"a": 1}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b"a=1", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"a": 1}', None, 415, "UNSUPPORTED_MEDIA_TYPE"),
    (b'{"pad": "' + b"x" * (64 * 1024) + b'"}', "application/json", 413, "BODY_TOO_LARGE"),
    (b"{", "application/json", 400, "MALFORMED_JSON"),
    (b"", "application/json", 400, "MALFORMED_JSON"),
    (b'{"a": NaN}', "application/json", 400, "MALFORMED_JSON"),
    (b'{"a": "\xff"}', "application/json", 400, "MALFORMED_JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 413, "BODY_TOO_LARGE"),
    (b"[" * 30_000 + b"]" * 30_000, "application/json", 400, "MALFORMED_JSON"),
    (b"[1, 2]", "application/json", 422, "VALIDATION_FAILED"),
    (b'"text"', "application/json", 422, "VALIDATION_FAILED"),
    (b"null", "application/json", 422, "VALIDATION_FAILED"),
]


async def tokens_for(http: aiohttp.ClientSession, base: str, settings: Settings) -> dict[str, str]:
    login = {"email": settings.admin_email, "password": settings.admin_password}
    _, admin = await call(http, "POST", f"{base}/auth/login", body=login)
    member = {"email": "m@example.com", "password": "12345678", "name": "M"}
    await call(http, "POST", f"{base}/auth/signup", body=member)
    _, pair = await call(http, "POST", f"{base}/auth/login", body=member)
    return {"admin": admin["access_token"], "member": pair["access_token"]}


async def test_every_bad_input_class_on_every_endpoint_with_a_body(
    fresh_settings: Settings, api_factory: ApiFactory
) -> None:
    # No rate limit: this test sends many requests per second as one member.
    _, base = api_factory(dataclasses.replace(fresh_settings, rate_limit=0))
    async with aiohttp.ClientSession() as http:
        who = await tokens_for(http, base, fresh_settings)
        status, product = await call(http, "POST", f"{base}/admin/products", who["admin"], PRODUCT)
        assert status == 201
        for template, (caller, valid, fields) in FIELD_CASES.items():
            url = base + template.format(pid=product["product_id"])
            token = who.get(caller)
            charset = {"Content-Type": "application/json; charset=utf-8"}
            status, body = await call(
                http, "POST", url, token, headers=charset, data=json.dumps(valid)
            )
            assert status < 500 and status not in (400, 413, 415, 422), (template, body)
            for raw, content_type, expected, code in ENVELOPE_CASES:
                headers = {"Content-Type": content_type} if content_type else {}
                status, body = await call(http, "POST", url, token, headers=headers, data=raw)
                assert (status, error_code(body)) == (expected, code), (template, raw[:40])
            for bad, field in fields:
                data = json.dumps(bad).encode("utf-8", "surrogatepass")
                status, body = await call(
                    http,
                    "POST",
                    url,
                    token,
                    headers={"Content-Type": "application/json"},
                    data=data,
                )
                assert status == 422, (template, bad, body)
                assert body["error"] == {
                    **body["error"],
                    "code": "VALIDATION_FAILED",
                    "field": field,
                }
