"""The simulated gateway's decline decision: deterministic per order, at the configured rate."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from agents.payment_gateway import declines


@given(st.uuids().map(str), st.floats(min_value=0.0, max_value=1.0))
def test_the_same_order_gets_the_same_answer_every_time(order_id: str, rate: float) -> None:
    assert declines(order_id, rate) == declines(order_id, rate)


@given(st.uuids().map(str))
def test_rate_zero_never_declines_and_rate_one_always_does(order_id: str) -> None:
    assert not declines(order_id, 0.0)
    assert declines(order_id, 1.0)


@given(st.uuids().map(str), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_a_higher_rate_declines_every_order_a_lower_rate_declines(
    order_id: str, a: float, b: float
) -> None:
    low, high = sorted((a, b))
    assert not declines(order_id, low) or declines(order_id, high)


def test_the_share_declined_is_close_to_the_rate() -> None:
    ids = [str(uuid.UUID(int=i * 7919 + 1, version=4)) for i in range(20_000)]
    share = sum(declines(order_id, 0.2) for order_id in ids) / len(ids)
    assert 0.19 < share < 0.21
