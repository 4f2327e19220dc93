"""Access and refresh tokens: what decodes, and every way a token is refused."""

from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api import tokens

SECRET = "s" * 48


def test_access_token_round_trip() -> None:
    token = tokens.issue(SECRET, 42, "admin", 3)
    claims = tokens.decode(SECRET, token)
    assert (claims.member_id, claims.role, claims.version, claims.token_type) == (
        42,
        "admin",
        3,
        tokens.ACCESS,
    )
    assert claims.expires_at - time.time() == pytest.approx(tokens.ACCESS_TTL_SECONDS, abs=2)
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(payload) == {"sub", "role", "ver", "iat", "exp", "jti", "typ"}


def test_every_token_has_its_own_id() -> None:
    first, second = (
        jwt.decode(tokens.issue(SECRET, 1, "member", 0), SECRET, algorithms=["HS256"])
        for _ in range(2)
    )
    assert first["jti"] != second["jti"]


def test_refresh_token_is_only_a_refresh_token() -> None:
    refresh = tokens.issue(SECRET, 1, "member", 0, tokens.REFRESH, tokens.REFRESH_TTL_SECONDS)
    assert tokens.decode(SECRET, refresh, tokens.REFRESH).token_type == tokens.REFRESH
    with pytest.raises(tokens.TokenInvalid):
        tokens.decode(SECRET, refresh, tokens.ACCESS)
    with pytest.raises(tokens.TokenInvalid):
        tokens.decode(SECRET, tokens.issue(SECRET, 1, "member", 0), tokens.REFRESH)


def test_expired_token_is_refused_as_expired() -> None:
    token = tokens.issue(SECRET, 1, "member", 0, ttl_seconds=60, now=time.time() - 61)
    with pytest.raises(tokens.TokenExpired):
        tokens.decode(SECRET, token)


def _claims() -> dict[str, object]:
    now = int(time.time())
    return {
        "sub": "1",
        "role": "member",
        "ver": 0,
        "iat": now,
        # Made at collection time: valid long enough for any suite to reach them.
        "exp": now + 24 * 3600,
        "jti": "x",
        "typ": "access",
    }


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode(_claims(), None, algorithm="none"),
        jwt.encode(_claims(), "other-secret-" + "y" * 40, algorithm="HS256"),
        jwt.encode({**_claims(), "ver": True}, SECRET, algorithm="HS256"),
        jwt.encode({**_claims(), "ver": -1}, SECRET, algorithm="HS256"),
        jwt.encode({**_claims(), "sub": "abc"}, SECRET, algorithm="HS256"),
        jwt.encode({**_claims(), "sub": 1}, SECRET, algorithm="HS256"),
        jwt.encode({**_claims(), "role": "root"}, SECRET, algorithm="HS256"),
        jwt.encode({k: v for k, v in _claims().items() if k != "ver"}, SECRET, algorithm="HS256"),
        jwt.encode({k: v for k, v in _claims().items() if k != "exp"}, SECRET, algorithm="HS256"),
        "",
        "a.b.c",
    ],
    ids=[
        "alg-none",
        "other-secret",
        "bool-version",
        "negative-version",
        "non-numeric-sub",
        "int-sub",
        "unknown-role",
        "no-version",
        "no-expiry",
        "empty",
        "garbage",
    ],
)
def test_invalid_tokens_are_refused(token: str) -> None:
    with pytest.raises(tokens.TokenInvalid) as caught:
        tokens.decode(SECRET, token)
    assert not isinstance(caught.value, tokens.TokenExpired)


@given(
    st.integers(min_value=1, max_value=2**63),
    st.integers(min_value=0, max_value=2**31),
    st.sampled_from(["member", "admin"]),
)
def test_any_member_version_and_role_round_trip(member_id: int, version: int, role: str) -> None:
    claims = tokens.decode(SECRET, tokens.issue(SECRET, member_id, role, version))
    assert (claims.member_id, claims.version, claims.role) == (member_id, version, role)


@given(st.integers(min_value=0, max_value=200))
def test_any_single_byte_change_of_the_signature_is_refused(position: int) -> None:
    token = tokens.issue(SECRET, 7, "member", 0)
    head, body, sig = token.split(".")
    # Not the last character: its low bits are base64 padding that decoders ignore.
    index = position % (len(sig) - 1)
    changed = sig[:index] + ("A" if sig[index] != "A" else "B") + sig[index + 1 :]
    with pytest.raises(tokens.TokenInvalid):
        tokens.decode(SECRET, f"{head}.{body}.{changed}")


def test_a_verified_token_is_checked_once_and_still_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified = tokens.VerifiedTokens(SECRET)
    token = tokens.issue(SECRET, 42, "member", 0, ttl_seconds=60)
    assert verified.decode(token).member_id == 42
    calls = []
    monkeypatch.setattr(tokens, "decode", lambda *a, **k: calls.append(a))
    assert verified.decode(token).member_id == 42 and not calls  # from the cache
    with pytest.raises(tokens.TokenInvalid):  # the same token for another use
        verified.decode(token, tokens.REFRESH)
    now = time.time()
    monkeypatch.setattr(tokens.time, "time", lambda: now + 61)
    with pytest.raises(tokens.TokenExpired):
        verified.decode(token)


def test_an_invalid_token_is_never_cached() -> None:
    verified = tokens.VerifiedTokens(SECRET)
    forged = tokens.issue("x" * 48, 42, "member", 0)
    for _ in range(2):
        with pytest.raises(tokens.TokenInvalid):
            verified.decode(forged)
