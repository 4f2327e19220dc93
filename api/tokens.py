"""Signed member tokens: HS256 JWTs, encoded and checked without any I/O.

An access token (15 minutes) authorises API calls; a refresh token (14 days) is
good only at ``/auth/refresh``. Both carry the member's token version (``ver``):
raising the version in the database revokes every token issued before. Only
HS256 is ever accepted, so ``alg: none`` and RS/HS confusion tokens fail.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from api import issued_tokens

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
ACCESS_TTL_SECONDS = 15 * 60
REFRESH_TTL_SECONDS = 14 * 24 * 3600
REQUIRED_CLAIMS = sorted(issued_tokens.ISSUED_CLAIMS)  # every claim ``issue`` writes


class TokenInvalid(Exception):
    """Not a token we issued for this use: malformed, forged, wrong algorithm or type."""


class TokenExpired(TokenInvalid):
    """A genuine token past its expiry."""


@dataclass(frozen=True)
class Claims:
    member_id: int
    role: str
    version: int
    token_type: str
    expires_at: int


def issue(
    secret: str,
    member_id: int,
    role: str,
    version: int,
    token_type: str = ACCESS,
    ttl_seconds: int = ACCESS_TTL_SECONDS,
    now: float | None = None,
) -> str:
    issued = int(time.time() if now is None else now)
    payload = {
        "sub": str(member_id),
        "role": role,
        "ver": version,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "typ": token_type,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode(secret: str, token: str, token_type: str = ACCESS) -> Claims:
    """The claims of a valid, unexpired token of ``token_type``; raises otherwise."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("invalid token") from exc
    return _claims(payload, token_type)


def _claims(payload: dict[str, object], token_type: str) -> Claims:
    sub, ver, exp = payload["sub"], payload["ver"], payload["exp"]
    if payload["typ"] != token_type:
        raise TokenInvalid(f"not an {token_type} token")
    if not (isinstance(sub, str) and sub.isdigit()):
        raise TokenInvalid("malformed subject")
    if type(ver) is not int or ver < 0 or type(exp) is not int:
        raise TokenInvalid("malformed version or expiry")
    role = payload["role"]
    if role not in ("member", "admin"):
        raise TokenInvalid("unknown role")
    return Claims(int(sub), str(role), ver, token_type, exp)


class VerifiedTokens:
    """Claims of tokens whose signature was checked already, by token string.

    A buyer sends the same access token with every request; checking its HMAC
    and parsing it once is enough. A hit is still refused once expired. Only
    valid tokens are kept, at most ``max_entries`` (then the cache starts over).
    """

    def __init__(self, secret: str, max_entries: int = 100_000) -> None:
        self._secret = secret
        self._key = issued_tokens.signing_key(secret)
        self._max_entries = max_entries
        self._claims: dict[str, Claims] = {}

    def decode(self, token: str, token_type: str = ACCESS) -> Claims:
        claims = self._claims.get(token)
        if claims is None:
            claims = self._check(token, token_type)
            if len(self._claims) >= self._max_entries:
                self._claims.clear()
            self._claims[token] = claims
        if claims.token_type != token_type:
            raise TokenInvalid(f"not an {token_type} token")
        if claims.expires_at <= time.time():
            raise TokenExpired("token expired")
        return claims

    def _check(self, token: str, token_type: str) -> Claims:
        """A token of the shape this API issues, checked here; any other, by PyJWT."""
        now = time.time()
        payload = issued_tokens.payload_if_issued(self._key, token, now)
        if payload is None:
            return decode(self._secret, token, token_type)
        if payload["exp"] <= now:
            raise TokenExpired("token expired")
        return _claims(payload, token_type)
