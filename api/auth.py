"""Who is calling: the Bearer access token checked on every authenticated request.

``require_member`` verifies the HS256 signature (once per token string:
``tokens.VerifiedTokens``) and expiry, then compares the
token's version with the member's current one (``TokenVersions``: an in-process
cache of at most 1 s, then Redis, MySQL as the fallback). ``require_admin`` adds
the role check for ``/admin/*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pymysql
from aiohttp import web
from redis.exceptions import RedisError

from api import tokens
from api.app_keys import TOKEN_VERSIONS, VERIFIED_TOKENS
from api.errors import ApiError, unavailable

if TYPE_CHECKING:
    from api.pushed_state import PushedState

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flashsale"'}


@dataclass(frozen=True)
class Principal:
    member_id: int
    role: str


def unauthenticated(
    code: str = "UNAUTHENTICATED", message: str = "a valid token is required"
) -> ApiError:
    return ApiError(401, code, message, headers=CHALLENGE)


def bearer_token(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated(message="an Authorization: Bearer token is required")
    return token.strip()


def check_claims(request: web.Request, token: str, token_type: str) -> tokens.Claims:
    try:
        return request.app[VERIFIED_TOKENS].decode(token, token_type)
    except tokens.TokenExpired as exc:
        raise unauthenticated("TOKEN_EXPIRED", "the token has expired") from exc
    except tokens.TokenInvalid as exc:
        raise unauthenticated(message=str(exc)) from exc


def verify_token(request: web.Request, pushed: PushedState) -> tuple[tokens.Claims, bool]:
    """The access token's claims, and whether the revocations pushed to this process
    (api/pushed_state.py) clear it: 401 TOKEN_REVOKED if they revoke it, False when
    they cannot be trusted now (the caller then checks the version). No I/O."""
    claims = check_claims(request, bearer_token(request), tokens.ACCESS)
    revoked = pushed.revoked(claims.member_id, claims.version)
    if revoked:
        raise unauthenticated("TOKEN_REVOKED", "the token has been revoked")
    return claims, revoked is not None


async def check_version(request: web.Request, claims: tokens.Claims) -> None:
    """Refuse tokens issued before the member's last logout-all."""
    try:
        current = await request.app[TOKEN_VERSIONS].current(claims.member_id)
    except (pymysql.MySQLError, RedisError, OSError) as exc:
        # Redis failed over to MySQL and MySQL failed too.
        raise unavailable("cannot check the token right now") from exc
    if current is None or claims.version > current:
        raise unauthenticated(message="unknown member")
    if claims.version < current:
        raise unauthenticated("TOKEN_REVOKED", "the token has been revoked")


async def require_member(request: web.Request) -> Principal:
    claims = check_claims(request, bearer_token(request), tokens.ACCESS)
    await check_version(request, claims)
    return Principal(claims.member_id, claims.role)


async def require_admin(request: web.Request) -> Principal:
    principal = await require_member(request)
    if principal.role != "admin":
        raise ApiError(403, "FORBIDDEN", "administrators only")
    return principal
