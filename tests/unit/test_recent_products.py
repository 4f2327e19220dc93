"""The per-instance product reads: fresh for 100 ms, forgotten on admin writes."""

from __future__ import annotations

import pytest

from api import recent_products
from api.recent_products import RecentProducts

READ = ({"product_id": 7, "stock": 10}, {"remaining": "0"})


def test_a_read_is_served_while_fresh_and_then_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(recent_products.time, "monotonic", lambda: now[0])
    recent = RecentProducts(fresh_seconds=0.1)
    assert recent.get(7) is None
    recent.remember(7, READ)
    now[0] += 0.099
    assert recent.get(7) == READ
    now[0] += 0.001
    assert recent.get(7) is None


def test_forget_drops_the_product_at_once() -> None:
    recent = RecentProducts()
    recent.remember(7, READ)
    recent.remember(8, READ)
    recent.forget(7)
    recent.forget(9)  # never read: nothing to do
    assert recent.get(7) is None
    assert recent.get(8) == READ
