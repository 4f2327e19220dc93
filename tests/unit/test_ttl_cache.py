"""The in-process TTL cache: served for ``ttl`` seconds after a put, emptied when full."""

from __future__ import annotations

from api.ttl_cache import MISSING, TtlCache


def test_an_entry_is_served_for_ttl_seconds_after_its_put() -> None:
    cache: TtlCache[int, str] = TtlCache(ttl=1.0, max_entries=10)
    assert cache.get(1, now=100.0) is None
    cache.put(1, "a", now=100.0)
    assert cache.get(1, now=100.0) == "a"
    assert cache.get(1, now=100.999) == "a"
    assert cache.get(1, now=101.0) is None  # ttl seconds old: expired
    assert len(cache) == 1  # reads evict nothing


def test_a_put_again_starts_the_entry_afresh() -> None:
    cache: TtlCache[int, str] = TtlCache(ttl=1.0, max_entries=10)
    cache.put(1, "a", now=100.0)
    cache.put(1, "b", now=100.5)
    assert cache.get(1, now=101.2) == "b"
    assert cache.get(1, now=101.5) is None


def test_a_cached_none_is_told_from_a_miss_by_the_default() -> None:
    cache: TtlCache[int, int | None] = TtlCache(ttl=1.0, max_entries=10)
    cache.put(1, None, now=0.0)
    assert cache.get(1, 0.5, MISSING) is None
    assert cache.get(2, 0.5, MISSING) is MISSING
    assert cache.get(1, 1.0, MISSING) is MISSING


def test_a_zero_ttl_serves_nothing() -> None:
    cache: TtlCache[int, str] = TtlCache(ttl=0.0, max_entries=10)
    cache.put(1, "a", now=5.0)
    assert cache.get(1, now=5.0) is None


def test_a_put_into_a_full_cache_empties_it_first() -> None:
    cache: TtlCache[int, int] = TtlCache(ttl=60.0, max_entries=3)
    for key in range(3):
        cache.put(key, key, now=0.0)
    assert [cache.get(key, 1.0) for key in range(3)] == [0, 1, 2]
    cache.put(3, 3, now=1.0)
    assert len(cache) == 1
    assert [cache.get(key, 1.0) for key in range(4)] == [None, None, None, 3]


def test_a_full_cache_is_emptied_even_by_a_key_it_holds() -> None:
    # The bound counts puts, not distinct keys: one comparison per put, no lookup.
    cache: TtlCache[int, int] = TtlCache(ttl=60.0, max_entries=2)
    cache.put(1, 1, now=0.0)
    cache.put(2, 2, now=0.0)
    cache.put(2, 20, now=0.0)
    assert (cache.get(1, 0.0), cache.get(2, 0.0)) == (None, 20)


def test_discard_forgets_at_once() -> None:
    cache: TtlCache[int, str] = TtlCache(ttl=60.0, max_entries=10)
    cache.put(1, "a", now=0.0)
    cache.put(2, "b", now=0.0)
    cache.discard(1)
    cache.discard(9)  # never put: nothing to do
    assert cache.get(1, 0.0) is None
    assert cache.get(2, 0.0) == "b"
