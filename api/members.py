"""Members and auth routes: sign-up, login, refresh, logout-all, ``/me``, ``/me/orders``.

Sign-up and login are rate-limited before any password hashing (api/auth_limits.py)
and hash in this process's bounded hashing slots (api/hashing_slots.py).

Also the start-up step that prepares token checks (``TokenVersions``) and creates
the admin account from ``FLASHSALE_ADMIN_EMAIL`` / ``FLASHSALE_ADMIN_PASSWORD``
when both are set and no member has that email yet.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from api import tokens
from api.app_keys import (
    DATABASE,
    HASHING_SLOTS,
    REDIS,
    REFUSED_ADDRESSES,
    SETTINGS,
    SIGNING_SECRET,
    TOKEN_VERSIONS,
    VERIFIED_TOKENS,
)
from api.auth import check_claims, require_member, unauthenticated
from api.auth_limits import enforce_auth_limits, refuse_a_known_flood
from api.bodies import read_json_object, require_str
from api.errors import ApiError, validation_error
from api.hashing_slots import HashingSlots
from api.passwords import dummy_hash, hash_password, verify_password
from api.refused_addresses import RefusedAddresses
from api.times import datetime_rfc3339
from api.token_versions import TokenVersions
from storage import members as member_sql
from streams.shapes import ORDER_TIMES

log = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL, MAX_NAME, MIN_PASSWORD, MAX_PASSWORD, MAX_TOKEN = 254, 100, 8, 256, 4096


def normalise_email(raw: str) -> str:
    return raw.strip().lower()


def _email(body: dict[str, Any]) -> str:
    email = normalise_email(require_str(body, "email", max_length=MAX_EMAIL + 64))
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        raise validation_error("email", "email is not a valid address")
    return email


async def signup(request: web.Request) -> web.Response:
    refuse_a_known_flood(request, "signup")
    body = await read_json_object(request)
    email = _email(body)
    password = require_str(body, "password", MAX_PASSWORD, min_length=MIN_PASSWORD)
    name = require_str(body, "name", MAX_NAME).strip()
    if not name:
        raise validation_error("name", "name must not be blank")
    await enforce_auth_limits(request, "signup", email)
    password_hash = await request.app[HASHING_SLOTS].run(hash_password, password)
    try:
        member_id = await request.app[DATABASE].run(
            lambda cur: member_sql.create(cur, email, name, password_hash)
        )
    except member_sql.EmailTaken as exc:
        raise ApiError(409, "EMAIL_TAKEN", "a member with this email exists", "email") from exc
    return web.json_response({"member_id": member_id}, status=201)


async def _token_pair(
    request: web.Request, member_id: int, role: str, version: int
) -> web.Response:
    secret = request.app[SIGNING_SECRET]
    access = tokens.issue(secret, member_id, role, version)
    # The requests that carry this token then find its version in Redis, not MySQL.
    await request.app[TOKEN_VERSIONS].issued(member_id, version, tokens.ACCESS_TTL_SECONDS)
    refresh = tokens.issue(
        secret, member_id, role, version, tokens.REFRESH, tokens.REFRESH_TTL_SECONDS
    )
    return web.json_response(
        {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": tokens.ACCESS_TTL_SECONDS,
        }
    )


async def login(request: web.Request) -> web.Response:
    refuse_a_known_flood(request, "login")
    body = await read_json_object(request)
    email = normalise_email(require_str(body, "email", MAX_EMAIL + 64))
    password = require_str(body, "password", MAX_PASSWORD)
    await enforce_auth_limits(request, "login", email)
    row = await request.app[DATABASE].run(lambda cur: member_sql.by_email(cur, email))
    stored = row["password_hash"] if row else dummy_hash()
    matches = await request.app[HASHING_SLOTS].run(verify_password, password, stored)
    if row is None or not matches:
        raise ApiError(401, "INVALID_CREDENTIALS", "wrong email or password")
    return await _token_pair(request, row["member_id"], row["role"], row["token_version"])


async def refresh(request: web.Request) -> web.Response:
    body = await read_json_object(request)
    token = require_str(body, "refresh_token", MAX_TOKEN)
    claims = check_claims(request, token, tokens.REFRESH)
    row = await request.app[DATABASE].run(lambda cur: member_sql.by_id(cur, claims.member_id))
    if row is None or claims.version > row["token_version"]:
        raise unauthenticated(message="unknown member")
    if claims.version < row["token_version"]:
        raise unauthenticated("TOKEN_REVOKED", "the token has been revoked")
    return await _token_pair(request, row["member_id"], row["role"], row["token_version"])


async def logout_all(request: web.Request) -> web.Response:
    principal = await require_member(request)
    await request.app[TOKEN_VERSIONS].revoke_all(principal.member_id)
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    principal = await require_member(request)
    row = await request.app[DATABASE].run(lambda cur: member_sql.by_id(cur, principal.member_id))
    if row is None:
        raise unauthenticated(message="unknown member")
    fields = ("member_id", "email", "name", "role")
    return web.json_response({name: row[name] for name in fields})


def order_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        name: datetime_rfc3339(value) if name in ORDER_TIMES else value
        for name, value in row.items()
    }


async def my_orders(request: web.Request) -> web.Response:
    principal = await require_member(request)
    rows = await request.app[DATABASE].run(
        lambda cur: member_sql.orders_of(cur, principal.member_id)
    )
    return web.json_response({"orders": [order_view(row) for row in rows]})


async def _ensure_admin(app: web.Application) -> None:
    settings = app[SETTINGS]
    if not (settings.admin_email and settings.admin_password):
        return
    email = normalise_email(settings.admin_email)
    existing = await app[DATABASE].run(lambda cur: member_sql.by_email(cur, email))
    if existing is not None:
        return
    password_hash = await asyncio.to_thread(hash_password, settings.admin_password)
    try:
        await app[DATABASE].run(
            lambda cur: member_sql.create(cur, email, "Administrator", password_hash, "admin")
        )
        log.info("created the admin account %s", email)
    except member_sql.EmailTaken:
        pass  # another API instance created it at the same moment


async def _auth_state(app: web.Application) -> AsyncIterator[None]:
    app[TOKEN_VERSIONS] = TokenVersions(app[SETTINGS], app[REDIS], app[DATABASE])
    await _ensure_admin(app)
    yield
    await app[TOKEN_VERSIONS].close()


def setup_member_routes(app: web.Application) -> None:
    # Resolved now so that start-up fails without a usable secret.
    app[SIGNING_SECRET] = app[SETTINGS].signing_secret()
    app[VERIFIED_TOKENS] = tokens.VerifiedTokens(app[SIGNING_SECRET])
    # One hash at a time across the API processes of this stack, as in one process.
    app[HASHING_SLOTS] = HashingSlots(shared=Path(app[SETTINGS].data_dir) / "api-hashing.lock")
    app[REFUSED_ADDRESSES] = RefusedAddresses()
    app.cleanup_ctx.append(_auth_state)
    app.router.add_post("/auth/signup", signup)
    app.router.add_post("/auth/login", login)
    app.router.add_post("/auth/refresh", refresh)
    app.router.add_post("/auth/logout-all", logout_all)
    app.router.add_get("/me", me)
    app.router.add_get("/me/orders", my_orders)
