"""``Prefer: wait=N`` parsing (RFC 7240): capped, and ignored when unreadable."""

from __future__ import annotations

import pytest

from api.prefer import requested_wait


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("wait=2", 2.0),
        ("respond-async, wait=5", 5.0),
        ("WAIT=0.5", 0.5),
        ('wait="3"', 3.0),
        ("wait=60", 10.0),
        ("wait=abc", None),
        ("wait=-1", None),
        ("wait=nan", None),
        ("return=minimal", None),
    ],
)
def test_requested_wait(header: str | None, expected: float | None) -> None:
    assert requested_wait(header) == expected
