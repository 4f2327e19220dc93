"""Sign-up, login, refresh and logout-all through real API processes, MariaDB and Redis.

A token revoked by ``logout-all`` on one API instance is refused by a second
instance started in the same test (within its 1 s token-version cache).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import aiohttp
import jwt
import pytest

from api import tokens
from api.token_versions import CACHE_SECONDS
from kit.processes import ManagedProcess, free_port
from storage.mysql import MySQLConfig, connect
from streams.settings import Settings
from tests.support.http import call, error_code

pytestmark = pytest.mark.integration

ApiFactory = Callable[..., tuple[ManagedProcess, str]]
PASSWORD = "correct horse battery"


async def signup_and_login(http: aiohttp.ClientSession, base: str, email: str) -> dict[str, str]:
    status, body = await call(
        http,
        "POST",
        f"{base}/auth/signup",
        body={"email": email, "password": PASSWORD, "name": "A"},
    )
    assert status == 201, body
    status, pair = await call(
        http, "POST", f"{base}/auth/login", body={"email": email, "password": PASSWORD}
    )
    assert status == 200, pair
    return dict(pair)


async def test_whole_flow_and_logout_all_on_a_second_instance(
    fresh_settings: Settings, api_factory: ApiFactory
) -> None:
    _, first = api_factory(fresh_settings, name="api-1")
    _, second = api_factory(fresh_settings, name="api-2")
    async with aiohttp.ClientSession() as http:
        signup = {"email": "  Alice@Example.COM ", "password": PASSWORD, "name": "Alice"}
        status, body = await call(http, "POST", f"{first}/auth/signup", body=signup)
        assert status == 201 and body["member_id"] >= 1
        member_id = body["member_id"]

        again = {**signup, "email": "alice@example.com"}
        status, body = await call(http, "POST", f"{second}/auth/signup", body=again)
        assert (status, error_code(body), body["error"]["field"]) == (409, "EMAIL_TAKEN", "email")

        for wrong in (
            {"email": "alice@example.com", "password": "wrong-password"},
            {"email": "nobody@example.com", "password": PASSWORD},
        ):
            status, body = await call(http, "POST", f"{first}/auth/login", body=wrong)
            assert (status, error_code(body)) == (401, "INVALID_CREDENTIALS")

        login = {"email": "ALICE@example.com ", "password": PASSWORD}
        status, pair = await call(http, "POST", f"{first}/auth/login", body=login)
        assert status == 200
        assert pair["token_type"] == "Bearer" and pair["expires_in"] == 15 * 60
        access, refresh = pair["access_token"], pair["refresh_token"]

        for base in (first, second):
            status, me = await call(http, "GET", f"{base}/me", token=access)
            assert status == 200
            assert me == {
                "member_id": member_id,
                "email": "alice@example.com",
                "name": "Alice",
                "role": "member",
            }
        status, body = await call(http, "GET", f"{first}/me/orders", token=access)
        assert (status, body) == (200, {"orders": []})

        status, body = await call(http, "GET", f"{first}/me", token=refresh)
        assert (status, error_code(body)) == (401, "UNAUTHENTICATED")
        status, body = await call(
            http, "POST", f"{first}/auth/refresh", body={"refresh_token": access}
        )
        assert (status, error_code(body)) == (401, "UNAUTHENTICATED")
        status, renewed = await call(
            http, "POST", f"{second}/auth/refresh", body={"refresh_token": refresh}
        )
        assert status == 200 and set(renewed) == set(pair)

        status, _ = await call(http, "POST", f"{first}/auth/logout-all", token=access)
        assert status == 204
        status, body = await call(http, "GET", f"{first}/me", token=access)
        assert (status, error_code(body)) == (401, "TOKEN_REVOKED")
        assert await refused_within(http, f"{second}/me", access, CACHE_SECONDS + 2.0)
        status, body = await call(http, "GET", f"{second}/me", token=renewed["access_token"])
        assert (status, error_code(body)) == (401, "TOKEN_REVOKED")
        status, body = await call(
            http, "POST", f"{second}/auth/refresh", body={"refresh_token": refresh}
        )
        assert (status, error_code(body)) == (401, "TOKEN_REVOKED")

        status, pair = await call(http, "POST", f"{second}/auth/login", body=login)
        status, me = await call(http, "GET", f"{first}/me", token=pair["access_token"])
        assert status == 200 and me["member_id"] == member_id


async def refused_within(http: aiohttp.ClientSession, url: str, token: str, seconds: float) -> bool:
    """True once ``url`` answers 401 TOKEN_REVOKED; the bound is the documented staleness."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body = await call(http, "GET", url, token=token)
        if status == 401 and error_code(body) == "TOKEN_REVOKED":
            return True
        assert status == 200, body
        await asyncio.sleep(0.1)
    return False


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forged(header: dict[str, str], payload: dict[str, object], key: bytes, digest: str) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    mac = hmac.new(key, signing_input.encode(), getattr(hashlib, digest)).digest()
    return f"{signing_input}.{_b64(mac)}"


def bad_tokens(secret: str, member_id: int) -> dict[str, tuple[str, str]]:
    """name -> (token, expected error code)."""
    good = tokens.issue(secret, member_id, "member", 0)
    claims = jwt.decode(good, secret, algorithms=["HS256"])
    head, body, sig = good.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    return {
        "expired": (
            tokens.issue(secret, member_id, "member", 0, now=time.time() - 3600),
            "TOKEN_EXPIRED",
        ),
        "tampered signature": (f"{head}.{body}.{flipped}", "UNAUTHENTICATED"),
        "tampered payload": (
            f"{head}.{_b64(json.dumps({**claims, 'role': 'admin'}).encode())}.{sig}",
            "UNAUTHENTICATED",
        ),
        "alg none": (jwt.encode(claims, None, algorithm="none"), "UNAUTHENTICATED"),
        "HS512": (
            forged({"alg": "HS512", "typ": "JWT"}, claims, secret.encode(), "sha512"),
            "UNAUTHENTICATED",
        ),
        "RS256 header, HMAC body": (
            forged({"alg": "RS256", "typ": "JWT"}, claims, secret.encode(), "sha256"),
            "UNAUTHENTICATED",
        ),
        "other secret": (tokens.issue("z" * 40, member_id, "member", 0), "UNAUTHENTICATED"),
        "refresh as access": (
            tokens.issue(secret, member_id, "member", 0, tokens.REFRESH),
            "UNAUTHENTICATED",
        ),
        "unknown member": (tokens.issue(secret, 10**12, "member", 0), "UNAUTHENTICATED"),
        "garbage": ("not.a.token", "UNAUTHENTICATED"),
    }


async def test_bad_tokens_are_401(fresh_settings: Settings, api_factory: ApiFactory) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        pair = await signup_and_login(http, base, "bob@example.com")
        status, me = await call(http, "GET", f"{base}/me", token=pair["access_token"])
        assert status == 200
        secret = fresh_settings.signing_secret()
        for name, (token, code) in bad_tokens(secret, me["member_id"]).items():
            for method, path in (("GET", "/me"), ("POST", "/auth/logout-all")):
                status, body = await call(http, method, f"{base}{path}", token=token)
                assert (status, error_code(body)) == (401, code), name
        for header in ({}, {"Authorization": "Basic YTpi"}, {"Authorization": "Bearer "}):
            status, body = await call(http, "GET", f"{base}/me", headers=header)
            assert (status, error_code(body)) == (401, "UNAUTHENTICATED")
        # The genuine token still works: nothing above revoked it.
        status, _ = await call(http, "GET", f"{base}/me", token=pair["access_token"])
        assert status == 200


async def test_admin_account_and_forbidden_for_members(
    fresh_settings: Settings, api_factory: ApiFactory
) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        admin_login = {
            "email": fresh_settings.admin_email,
            "password": fresh_settings.admin_password,
        }
        status, pair = await call(http, "POST", f"{base}/auth/login", body=admin_login)
        assert status == 200
        status, me = await call(http, "GET", f"{base}/me", token=pair["access_token"])
        assert me["role"] == "admin"

        member = await signup_and_login(http, base, "carol@example.com")
        product = {"name": "x", "price": 10, "sale_price": 5, "stock": 1}
        for path, body in (("/admin/products", product), ("/admin/products/1/restock", {"qty": 1})):
            status, answer = await call(
                http, "POST", f"{base}{path}", token=member["access_token"], body=body
            )
            assert (status, error_code(answer)) == (403, "FORBIDDEN")
            status, answer = await call(http, "POST", f"{base}{path}", body=body)
            assert (status, error_code(answer)) == (401, "UNAUTHENTICATED")


async def test_tokens_still_checked_when_redis_is_down(
    fresh_settings: Settings, api_factory: ApiFactory
) -> None:
    """With Redis unreachable the version check falls back to MySQL, revocation included."""
    no_redis = dataclasses.replace(fresh_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    _, base = api_factory(no_redis)
    async with aiohttp.ClientSession() as http:
        pair = await signup_and_login(http, base, "dave@example.com")
        status, _ = await call(http, "GET", f"{base}/me", token=pair["access_token"])
        assert status == 200
        status, _ = await call(http, "POST", f"{base}/auth/logout-all", token=pair["access_token"])
        assert status == 204
        status, body = await call(http, "GET", f"{base}/me", token=pair["access_token"])
        assert (status, error_code(body)) == (401, "TOKEN_REVOKED")


async def test_my_orders_newest_first_from_mysql(
    fresh_settings: Settings, api_factory: ApiFactory
) -> None:
    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        pair = await signup_and_login(http, base, "erin@example.com")
        _, me = await call(http, "GET", f"{base}/me", token=pair["access_token"])
        rows = [
            ("o-old", me["member_id"], "PAID", None, "2030-01-01 00:00:00", None),
            ("o-new", me["member_id"], "REJECTED", "SOLD_OUT", "2030-01-02 00:00:00.5", None),
            ("o-other", me["member_id"] + 1, "PAID", None, "2030-01-03 00:00:00", None),
        ]
        conn = connect(MySQLConfig.from_url(fresh_settings.mysql_url))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO orders (order_id, member_id, product_id, qty, amount, status,"
                " reason, status_rank, created_at, updated_at, expires_at)"
                " VALUES (%s, %s, 7, 1, 500, %s, %s, 2, %s, %s, %s)",
                [(o, m, s, r, at, at, exp) for o, m, s, r, at, exp in rows],
            )
        conn.commit()
        conn.close()
        status, body = await call(http, "GET", f"{base}/me/orders", token=pair["access_token"])
    assert status == 200
    assert [o["order_id"] for o in body["orders"]] == ["o-new", "o-old"]
    assert body["orders"][0] == {
        "order_id": "o-new",
        "member_id": me["member_id"],
        "product_id": 7,
        "qty": 1,
        "amount": 500,
        "status": "REJECTED",
        "reason": "SOLD_OUT",
        "created_at": "2030-01-02T00:00:00.500Z",
        "updated_at": "2030-01-02T00:00:00.500Z",
        "expires_at": None,
    }
