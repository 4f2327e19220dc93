"""Acting as someone else, or as anyone at all, with a bad token: always 401, never a write.

Forged (another secret), tampered (role changed to admin), expired, ``alg:
none``, revoked by logout-all, a refresh token used as an access token, a
version from the future, an unknown member, and malformed headers, each on
reads, orders, pay, cancel and an admin write.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

import pytest

from api import tokens
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


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(member_id: int, role: str = "member", version: int = 0) -> dict[str, object]:
    now = int(time.time())
    return {"sub": str(member_id), "role": role, "ver": version, "iat": now, "exp": now + 600}


def bad_tokens(shop: Shop) -> dict[str, tuple[str | None, str]]:
    """Authorization header values and the error code each must get."""
    secret = shop.settings.signing_secret()
    member = shop.members[0]
    genuine = member.token
    head, _, signature = genuine.split(".")
    claims = {**_claims(member.member_id, "admin"), "jti": "x", "typ": "access"}
    issue = tokens.issue
    return {
        "forged": (
            issue("another-secret-" + "y" * 40, member.member_id, "admin", 0),
            "UNAUTHENTICATED",
        ),
        "tampered": (f"{head}.{_b64(claims)}.{signature}", "UNAUTHENTICATED"),
        "expired": (
            issue(secret, member.member_id, "member", 0, ttl_seconds=60, now=time.time() - 600),
            "TOKEN_EXPIRED",
        ),
        "alg none": (f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.", "UNAUTHENTICATED"),
        "refresh as access": (
            issue(secret, member.member_id, "member", 0, tokens.REFRESH),
            "UNAUTHENTICATED",
        ),
        "future version": (issue(secret, member.member_id, "member", 7), "UNAUTHENTICATED"),
        "unknown member": (issue(secret, 987_654_321, "admin", 0), "UNAUTHENTICATED"),
        "garbage": ("not.a.token", "UNAUTHENTICATED"),
        "empty": ("", "UNAUTHENTICATED"),
    }


async def test_bad_tokens_get_401_and_write_nothing(
    settings_factory: Callable[..., Settings], worker_factory: Workers, api_factory: Apis
) -> None:
    shop = await open_shop(settings_factory(rate_limit=0), worker_factory, api_factory)
    victim, revoked = shop.members[0], shop.members[1]
    status, placed = await shop.call(
        "POST",
        "/orders",
        token=victim.token,
        body={"product_id": shop.plenty, "qty": 1},
        headers={"Prefer": "wait=5"},
    )
    assert status == 201, placed
    status, _ = await shop.call("POST", "/auth/logout-all", token=revoked.token)
    assert status == 204
    cases = {**bad_tokens(shop), "revoked": (revoked.token, "TOKEN_REVOKED")}
    await audit_clean(shop)
    calls = [
        ("GET", "/me", None),
        ("GET", f"/orders/{placed['order_id']}", None),
        ("POST", "/orders", {"product_id": shop.plenty, "qty": 1}),
        ("POST", f"/orders/{placed['order_id']}/pay", None),
        ("POST", f"/orders/{placed['order_id']}/cancel", None),
        ("POST", "/admin/products", {"name": "x", "price": 2, "sale_price": 1, "stock": 1}),
        ("POST", f"/admin/products/{shop.plenty}/restock", {"qty": 5}),
    ]
    async with Writes(shop.settings):
        for name, (token, code) in cases.items():
            for method, path, body in calls:
                status, answer = await shop.call(method, path, token=token, body=body)
                assert_contract_error(status, answer, code)
                assert status == 401, (name, method, path, answer)
        for header in ("Basic dXNlcjpwYXNz", "Bearer", "bearer  ", "Token x", victim.token):
            status, answer = await shop.call("GET", "/me", headers={"Authorization": header})
            assert_contract_error(status, answer, "UNAUTHENTICATED")
    status, order = await shop.call("GET", f"/orders/{placed['order_id']}", token=victim.token)
    assert status == 200 and order["status"] == "RESERVED", order
    await audit_clean(shop)
