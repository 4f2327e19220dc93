"""The issued-shape check (api/issued_tokens.py) decides exactly as PyJWT does.

Tokens are made at random: issued by the API, or encoded by PyJWT from claims of any
shape and type, under our secret or another, then often broken (a character changed,
a segment cut, a dot added). ``VerifiedTokens`` (the check, falling back to PyJWT)
and ``tokens.decode`` (PyJWT alone) must give the same claims or refuse alike.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api import issued_tokens, tokens

SECRET = "s" * 48
OTHER = "o" * 48


def _outcome(decide: Any, token: str, token_type: str) -> object:
    try:
        return decide(token, token_type)
    except tokens.TokenExpired:
        return "expired"
    except tokens.TokenInvalid:
        return "invalid"


def _both(token: str, token_type: str) -> tuple[object, object]:
    checked = _outcome(tokens.VerifiedTokens(SECRET).decode, token, token_type)
    by_pyjwt = _outcome(lambda t, k: tokens.decode(SECRET, t, k), token, token_type)
    return checked, by_pyjwt


@st.composite
def _far_from_now(draw: st.DrawFn) -> int:
    # Never within 5 s of now, read when drawn (the suite may run long after this module
    # is imported): PyJWT reads its own clock a moment later.
    offset = draw(st.one_of(st.integers(-(10**6), -5), st.integers(5, 10**6)))
    return int(time.time()) + offset


CLAIM_VALUES = st.one_of(
    st.integers(-5, 2**40),
    _far_from_now(),
    st.text(max_size=8),
    st.sampled_from(["member", "admin", "access", "refresh", "42", True, None, 1.5]),
)


@st.composite
def claim_sets(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(
        st.sets(st.sampled_from([*sorted(issued_tokens.ISSUED_CLAIMS), "nbf", "aud", "x"]))
    )
    claims = {name: draw(CLAIM_VALUES) for name in names}
    if draw(st.booleans()):  # well-formed but for one claim, so every check is reached
        claims = {
            "sub": "42",
            "role": "member",
            "ver": 1,
            "iat": int(time.time()) - 100,
            "exp": int(time.time()) + 600,
            "jti": "j",
            "typ": draw(st.sampled_from([tokens.ACCESS, tokens.REFRESH])),
        }
        odd = draw(st.sampled_from([*sorted(issued_tokens.ISSUED_CLAIMS), "none"]))
        if odd != "none":
            claims[odd] = draw(CLAIM_VALUES)
    return claims


@st.composite
def any_tokens(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["issued", "encoded"]))
    if kind == "issued":
        token = tokens.issue(
            draw(st.sampled_from([SECRET, OTHER])),
            draw(st.integers(1, 10**9)),
            draw(st.sampled_from(["member", "admin"])),
            draw(st.integers(0, 9)),
            draw(st.sampled_from([tokens.ACCESS, tokens.REFRESH])),
            draw(st.sampled_from([-100, 60, 3600])),
        )
    else:
        headers = draw(st.sampled_from([None, {"kid": "k"}, {"typ": "at+jwt"}]))
        algorithm = draw(st.sampled_from(["HS256", "HS384"]))
        token = jwt.encode(draw(claim_sets()), SECRET, algorithm=algorithm, headers=headers)
    mutation = draw(st.sampled_from(["none", "none", "char", "cut", "dot"]))
    if mutation == "char":
        at = draw(st.integers(0, len(token) - 1))
        token = token[:at] + draw(st.sampled_from("AB.-_=é")) + token[at + 1 :]
    elif mutation == "cut":
        token = token[: draw(st.integers(0, len(token)))]
    elif mutation == "dot":
        token = token + "." + draw(st.text(alphabet="abcXYZ", max_size=4))
    return token


@settings(max_examples=800, deadline=None)
@given(any_tokens(), st.sampled_from([tokens.ACCESS, tokens.REFRESH]))
def test_the_check_decides_every_token_as_pyjwt_does(token: str, token_type: str) -> None:
    checked, by_pyjwt = _both(token, token_type)
    assert checked == by_pyjwt, token


@pytest.mark.parametrize("token_type", [tokens.ACCESS, tokens.REFRESH])
def test_an_issued_token_is_checked_without_pyjwt(
    token_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens.issue(SECRET, 42, "member", 3, token_type)
    monkeypatch.setattr(tokens, "decode", lambda *a: pytest.fail("PyJWT asked"))
    claims = tokens.VerifiedTokens(SECRET).decode(token, token_type)
    assert (claims.member_id, claims.version, claims.token_type) == (42, 3, token_type)


def test_an_expired_issued_token_is_told_apart_without_pyjwt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = tokens.issue(SECRET, 42, "member", 3, ttl_seconds=-10)
    monkeypatch.setattr(tokens, "decode", lambda *a: pytest.fail("PyJWT asked"))
    with pytest.raises(tokens.TokenExpired):
        tokens.VerifiedTokens(SECRET).decode(token)


def test_the_issued_header_is_what_pyjwt_writes() -> None:
    token = tokens.issue(SECRET, 1, "member", 0)
    assert token.split(".")[0] == issued_tokens.ISSUED_HEADER
    assert set(jwt.decode(token, SECRET, algorithms=["HS256"])) == issued_tokens.ISSUED_CLAIMS


# PAST and FUTURE: 100 s before and 600 s after the moment the token is made.
ODD_VALUES: list[Any] = [None, True, 1.5, -1, 0, 5, "", "x", "42", [1], {"a": 1}, "PAST", "FUTURE"]


@pytest.mark.parametrize("claim", sorted(issued_tokens.ISSUED_CLAIMS))
@pytest.mark.parametrize("token_type", [tokens.ACCESS, tokens.REFRESH])
@pytest.mark.parametrize("expired", [False, True])
def test_each_claim_of_any_value_is_decided_as_pyjwt_does(
    claim: str, token_type: str, expired: bool
) -> None:
    for value in [*ODD_VALUES, "drop"]:
        claims: dict[str, Any] = {
            "sub": "42",
            "role": "member",
            "ver": 1,
            "iat": int(time.time()) - 100,
            "exp": int(time.time()) + (-50 if expired else 600),
            "jti": "j",
            "typ": token_type,
        }
        if value == "drop":
            del claims[claim]
        else:
            moments = {"PAST": int(time.time()) - 100, "FUTURE": int(time.time()) + 600}
            claims[claim] = moments.get(value, value) if isinstance(value, str) else value
        token = jwt.encode(claims, SECRET, algorithm="HS256")
        checked, by_pyjwt = _both(token, token_type)
        assert checked == by_pyjwt, (claim, value)
