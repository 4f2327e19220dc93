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


def test_a_full_cache_drops_both_the_reads_and_the_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recent_products, "MAX_ENTRIES", 2)
    recent = RecentProducts()
    recent.remember(7, READ)
    recent.remember(8, READ)
    recent.remember(9, READ)
    assert (recent.get(7), recent.fields(7)) == (None, None)
    assert (recent.get(9), recent.fields(9)) == (READ, READ[0])


def test_fields_outlive_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(recent_products.time, "monotonic", lambda: now[0])
    recent = RecentProducts(fresh_seconds=0.1, fields_seconds=60.0)
    recent.remember(7, READ)
    now[0] += 1.0
    assert recent.get(7) is None
    assert recent.fields(7) == READ[0]
    now[0] += 59.0
    assert recent.fields(7) is None
