"""Order IDs: time-ordered without a key, deterministic with one."""

from __future__ import annotations

import time
import uuid

from api.order_ids import idempotent_order_id, is_order_id, new_order_id


def test_new_ids_are_uuid7_and_sort_by_creation_time() -> None:
    first = new_order_id()
    time.sleep(0.002)
    second = new_order_id()
    assert uuid.UUID(first).version == 7
    assert uuid.UUID(first).variant == uuid.RFC_4122
    assert first < second


def test_new_ids_are_unique() -> None:
    assert len({new_order_id() for _ in range(10_000)}) == 10_000


def test_idempotency_key_gives_the_same_id_for_the_same_member_only() -> None:
    assert idempotent_order_id(7, "key-1") == idempotent_order_id(7, "key-1")
    assert idempotent_order_id(7, "key-1") != idempotent_order_id(8, "key-1")
    assert idempotent_order_id(7, "key-1") != idempotent_order_id(7, "key-2")


def test_is_order_id_accepts_only_canonical_uuids() -> None:
    assert is_order_id(new_order_id())
    assert not is_order_id("not-a-uuid")
    assert not is_order_id(new_order_id().upper())
    assert not is_order_id("' OR 1=1 --")
