"""The bench's peer (``bench/peer.py``): correct before it is compared with anything.

One peer process on a fresh database and namespace, one product of two units with
a limit of one per member: the first order of a member is reserved and its row
committed before the answer, a second order of the same member is refused
(LIMIT_EXCEEDED), the third member finds it sold out, a bad token is refused, and
the peer's audit finds the units taken from Redis exactly in ``peer_orders``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from api import tokens
from bench.scenarios.peer import PeerServer, audit, list_products
from kit.namespace import drop_redis_keys
from kit.processes import free_port
from storage.mysql import MySQLConfig, connect
from streams.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def peer(fresh_settings: Settings, tmp_path: Path) -> Iterator[PeerServer]:
    settings = dataclasses.replace(fresh_settings, api_port=free_port())
    list_products(settings, count=1, stock=2)
    server = PeerServer(settings, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.proc.stop()
        drop_redis_keys(settings)


async def order(base: str, token: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}", "Prefer": "wait=2"}
    async with aiohttp.ClientSession() as http:
        body = {"product_id": 1, "qty": 1}
        async with http.post(f"{base}/orders", json=body, headers=headers) as resp:
            return resp.status, await resp.json()


def rows(settings: Settings) -> list[dict[str, Any]]:
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT order_id, member_id, qty FROM peer_orders ORDER BY member_id")
            return list(cur.fetchall())
    finally:
        conn.close()


async def test_the_peer_reserves_within_stock_and_limit_and_stores_before_answering(
    peer: PeerServer,
) -> None:
    secret = peer.settings.signing_secret()
    first, second, third = (tokens.issue(secret, n, "member", 0) for n in (1, 2, 3))

    status, reserved = await order(peer.base_url, first)
    assert (status, reserved["status"]) == (201, "RESERVED")
    # Committed before the answer: the row is there the moment the 201 is.
    assert [r["order_id"] for r in rows(peer.settings)] == [reserved["order_id"]]

    assert await order(peer.base_url, first) == (
        409,
        {"order_id": None, "status": "REJECTED", "reason": "LIMIT_EXCEEDED"},
    )
    assert (await order(peer.base_url, second))[0] == 201
    assert await order(peer.base_url, third) == (
        409,
        {"order_id": None, "status": "REJECTED", "reason": "SOLD_OUT"},
    )
    assert (await order(peer.base_url, "not-a-token"))[0] == 401

    assert [r["member_id"] for r in rows(peer.settings)] == [1, 2]
    assert audit(peer.settings, [1], stock=2) == {"result": "clean", "rows": 2, "sold": 2}
