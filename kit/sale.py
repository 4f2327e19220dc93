"""Setting up a sale: members with access tokens, and products listed through the API.

Members are inserted straight into MySQL with a placeholder hash (no one logs in
as them) and get access tokens signed with the settings' secret, as
``flashsale-admin seed-members`` gives them; ``token_versions`` also writes their
token versions to Redis, as that command does, so that their first order costs
the API no MySQL read. Products are listed through the real admin API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from api import tokens
from ops.seed import publish_versions
from storage.mysql import MySQLConfig, connect
from streams.settings import Settings

PLACEHOLDER_HASH = "seeded$not-a-login"
TOKEN_SECONDS = 3600


@dataclass(frozen=True)
class Member:
    member_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def seed_members(
    settings: Settings, count: int, role: str = "member", token_versions: bool = False
) -> list[Member]:
    """``count`` new members in ``role``, each with an access token valid for an hour."""
    tag = uuid.uuid4().hex[:8]
    rows = [
        (f"{role}-{tag}-{i}@example.com", f"{role} {i}", role, PLACEHOLDER_HASH)
        for i in range(count)
    ]
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO members (email, name, role, password_hash) VALUES (%s, %s, %s, %s)",
                rows,
            )
            cur.execute(
                "SELECT member_id FROM members WHERE email LIKE %s ORDER BY member_id",
                (f"{role}-{tag}-%",),
            )
            ids = [row["member_id"] for row in cur.fetchall()]
        conn.commit()
    finally:
        conn.close()
    if token_versions:
        publish_versions(settings, ids, TOKEN_SECONDS)
    secret = settings.signing_secret()
    return [
        Member(mid, tokens.issue(secret, mid, role, 0, ttl_seconds=TOKEN_SECONDS)) for mid in ids
    ]


async def list_product(
    base: str, admin: Member, stock: int, per_user_limit: int = 1, **extra: Any
) -> dict[str, Any]:
    """``POST /admin/products`` as ``admin``; the product as the API answers it."""
    body = {
        "name": "Flash item",
        "price": 10000,
        "sale_price": 5000,
        "stock": stock,
        "per_user_limit": per_user_limit,
        **extra,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/admin/products", json=body, headers=admin.headers) as resp,
    ):
        if resp.status != 201:
            raise RuntimeError(f"listing a product failed: {resp.status} {await resp.text()}")
        return dict(await resp.json())
