"""Field validators: 422 VALIDATION_FAILED naming the field; no bool or float as int."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.bodies import optional_datetime, optional_int, require_int, require_str
from api.errors import ApiError
from api.members import normalise_email


def refused(call: Any, *args: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args)
    assert (caught.value.status, caught.value.code) == (422, "VALIDATION_FAILED")
    return caught.value


@pytest.mark.parametrize("value", [True, False, 1.0, 1.5, "1", None, [1], {"a": 1}])
def test_require_int_accepts_only_integers(value: Any) -> None:
    assert refused(require_int, {"qty": value}, "qty", 0, 10).field == "qty"


def test_require_int_range_and_presence() -> None:
    assert require_int({"qty": 10}, "qty", 1, 10) == 10
    assert refused(require_int, {"qty": 11}, "qty", 1, 10).field == "qty"
    assert refused(require_int, {"qty": 0}, "qty", 1, 10).field == "qty"
    assert refused(require_int, {}, "qty", 1, 10).field == "qty"


def test_optional_int_default() -> None:
    assert optional_int({}, "limit", 1, 5, default=1) == 1
    assert optional_int({"limit": None}, "limit", 1, 5, default=1) == 1
    assert optional_int({"limit": 5}, "limit", 1, 5, default=1) == 5
    assert refused(optional_int, {"limit": True}, "limit", 1, 5, 1).field == "limit"


@given(st.integers())
def test_require_int_never_accepts_out_of_range(value: int) -> None:
    if 0 <= value <= 100:
        assert require_int({"n": value}, "n", 0, 100) == value
    else:
        refused(require_int, {"n": value}, "n", 0, 100)


@pytest.mark.parametrize("value", [1, None, ["x"], "", "x" * 11, "a\x00b", "tab\there", "\ud800"])
def test_require_str_refuses(value: Any) -> None:
    assert refused(require_str, {"name": value}, "name", 10).field == "name"


def test_require_str_accepts_unicode_up_to_the_limit() -> None:
    assert require_str({"name": "가나다라마바사아자차"}, "name", 10) == "가나다라마바사아자차"


def test_datetime_rfc3339_with_offset_to_utc() -> None:
    body = {"at": "2030-01-01T09:00:00+09:00", "z": "2030-01-01T00:00:00.5Z"}
    assert optional_datetime(body, "at") == datetime(2030, 1, 1, tzinfo=UTC)
    assert optional_datetime(body, "z") == datetime(2030, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)
    assert optional_datetime({}, "at") is None
    assert optional_datetime({"at": None}, "at") is None


@pytest.mark.parametrize(
    "value",
    [
        "2030-01-01",
        "2030-01-01T00:00:00",
        "tomorrow",
        1700000000,
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "1900-01-01T00:00:00Z",
        "2030-13-01T00:00:00Z",
    ],
)
def test_datetime_refuses(value: Any) -> None:
    assert refused(optional_datetime, {"at": value}, "at").field == "at"


def test_emails_are_normalised() -> None:
    assert normalise_email("  Alice@Example.COM\t") == "alice@example.com"
