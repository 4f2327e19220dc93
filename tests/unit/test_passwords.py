"""scrypt password hashes: verify the right password, nothing else, never crash."""

from __future__ import annotations

import pytest

from api.passwords import dummy_hash, hash_password, verify_password


def test_the_right_password_verifies_and_a_wrong_one_does_not() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("", stored)


def test_salted_so_equal_passwords_hash_differently() -> None:
    assert hash_password("same password") != hash_password("same password")


def test_unicode_passwords() -> None:
    stored = hash_password("비밀번호-пароль-🔑")
    assert verify_password("비밀번호-пароль-🔑", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain",
        "seeded$not-a-login",
        "scrypt$x$8$1$AAAA$AAAA",
        "bcrypt$1$2$3$AA$AA",
        "scrypt$16384$8$1$!!!$AAAA",
        "scrypt$3$8$1$AAAA$AAAA",
    ],
)
def test_malformed_hashes_never_verify(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_the_dummy_hash_matches_no_guessable_password() -> None:
    assert dummy_hash() == dummy_hash()
    assert not verify_password("", dummy_hash())
