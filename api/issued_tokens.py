"""Checking a token of exactly the shape this API issues, without PyJWT's general path.

In a flash storm every buyer's first request brings a token the process has not seen
(api/tokens.py ``VerifiedTokens`` caches only what it checked before), and PyJWT's
decode was 16 % of an API process's samples there: it parses the header as JSON,
re-prepares the key on every call (regular expressions looking for PEM and SSH
keys) and runs every optional check. A token this API issued has one exact header
(``{"alg":"HS256","typ":"JWT"}``, as ``jwt.encode`` writes it) and exactly the seven
claims of ``ISSUED_CLAIMS`` (which api/tokens.py requires of every token); for that
shape the checks are few: the HMAC (with a key set up once), the claims' types,
``iat`` not in the future.

``payload_if_issued`` answers only "yes, valid, here are the claims" or "not
decided here": anything else (another header, other claims, a bad signature, odd
types) goes to PyJWT, whose verdict stands. So this path can accept nothing that
PyJWT would refuse, which tests/unit/test_issued_tokens.py checks on tokens made
and broken at random.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

# base64url of the header jwt.encode writes for HS256 (sorted keys, no spaces).
ISSUED_HEADER = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
ISSUED_CLAIMS = frozenset({"sub", "role", "ver", "iat", "exp", "jti", "typ"})  # tokens.issue


def signing_key(secret: str) -> Any:
    """An HMAC-SHA256 keyed with ``secret``, to be copied for each token."""
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def payload_if_issued(key: Any, token: str, now: float) -> dict[str, Any] | None:
    """The claims of a valid token of the issued shape (its expiry not checked: the
    caller tells expired from invalid), or None when PyJWT must decide."""
    header, dot, rest = token.partition(".")
    if header != ISSUED_HEADER or not dot:
        return None
    body, dot, signature = rest.partition(".")
    if not dot or "." in signature:
        return None
    try:
        signing_input = token[: len(header) + 1 + len(body)].encode("ascii")
        expected = key.copy()
        expected.update(signing_input)
        if not hmac.compare_digest(expected.digest(), _unbase64url(signature)):
            return None
        payload = json.loads(_unbase64url(body))
    except (UnicodeError, ValueError, binascii.Error):
        return None
    if not (isinstance(payload, dict) and payload.keys() == ISSUED_CLAIMS):
        return None
    if None in payload.values():  # PyJWT counts a null claim as missing: its verdict
        return None
    iat, exp = payload["iat"], payload["exp"]
    if type(iat) is not int or type(exp) is not int or iat > now:
        return None
    if not (isinstance(payload["sub"], str) and isinstance(payload["jti"], str)):
        return None
    return payload


def _unbase64url(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
