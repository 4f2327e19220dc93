"""Redis round trips per order, counted by Redis itself (MONITOR).

The API process under test names its Redis connections, so every command it
sends is told apart from the workers' and the other tests'. After a warm-up
(each product's fields read once, the intake script loaded), an accepted order
costs exactly one Redis command: the intake script (api/intake.py), with or
without an Idempotency-Key; with ``Prefer: wait`` the decisions' projection adds
one script call shared by the decisions that arrive together (at most one per
order); a sold-out refusal costs none. Connection set-up (CLIENT, HELLO) and the pushed
state's pings are not counted. Apart: while a process has orders of a product in flight,
it reads the product's units left (one HGET, api/units_in_flight.py) at most once a
second when far from sold out: one or two for a phase, however many its orders.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import redis
from redis.asyncio import Redis

from kit.processes import ManagedProcess
from kit.sale import Member, list_product, seed_members
from storage.token_version_store import raise_versions
from streams.redis_keys import token_version_key
from streams.settings import Settings

pytestmark = pytest.mark.integration

ORDERS = 40
NOT_COUNTED = ("PING", "CLIENT", "HELLO")


class Monitor:
    """Commands Redis received from connections named ``name``, phase by phase."""

    def __init__(self, redis: Redis, name: str) -> None:
        self._redis, self._name = redis, name
        self._seen: list[tuple[str, str]] = []  # (client address, command)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def __aenter__(self) -> Monitor:
        self._task = asyncio.create_task(self._follow())
        await self._ready.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        async with self._redis.monitor() as monitor:
            self._ready.set()
            while True:
                info = await monitor.next_command()
                if info["client_type"] == "lua":
                    continue  # inside a script: part of that script's round trip
                address = f"{info['client_address']}:{info['client_port']}"
                self._seen.append((address, info["command"]))

    async def phase(self) -> list[str]:
        """The counted commands of the API since the previous call."""
        marker = f"phase-{uuid.uuid4().hex}"
        await self._redis.echo(marker)
        while not any(marker in command for _, command in self._seen):
            await asyncio.sleep(0.01)
        clients = await self._redis.client_list()
        ours = {c["addr"] for c in clients if c["name"] == self._name}
        end = next(i for i, (_, c) in enumerate(self._seen) if marker in c)
        seen, self._seen = self._seen[:end], self._seen[end + 1 :]
        commands = [c for address, c in seen if address in ours]
        return [c for c in commands if not c.upper().startswith(NOT_COUNTED)]


async def _orders(
    base: str, members: list[Member], pid: int, headers: Callable[[int], dict[str, str]]
) -> list[tuple[int, dict[str, Any]]]:
    async def one(http: aiohttp.ClientSession, n: int) -> tuple[int, dict[str, Any]]:
        async with http.post(
            f"{base}/orders",
            json={"product_id": pid, "qty": 1},
            headers={**members[n].headers, **headers(n)},
        ) as resp:
            return resp.status, dict(await resp.json())

    async with aiohttp.ClientSession() as http:
        return await asyncio.gather(*(one(http, n) for n in range(len(members))))


def _verbs(commands: list[str]) -> Counter[str]:
    return Counter(c.split()[0].strip('"').upper() for c in commands)


def _without_units_left(commands: list[str]) -> list[str]:
    """The commands but the reads of a product's units left: one a second at most (a
    phase's 40 orders take well under two seconds)."""
    reads = [c for c in commands if _verbs([c]) == {"HGET": 1} and c.endswith("remaining")]
    assert len(reads) <= 2, reads
    return [c for c in commands if c not in reads]


async def test_an_accepted_order_costs_one_redis_round_trip(
    fresh_settings: Settings,
    worker_factory: Callable[..., ManagedProcess],
    api_factory: Callable[..., tuple[ManagedProcess, str]],
    redis_client: Redis,
) -> None:
    name = f"{fresh_settings.app_id}-api"
    separator = "&" if "?" in fresh_settings.redis_url else "?"
    api_settings = dataclasses.replace(
        fresh_settings, redis_url=f"{fresh_settings.redis_url}{separator}client_name={name}"
    )
    worker_factory(fresh_settings)
    _, base = api_factory(api_settings)
    admin, *_ = seed_members(fresh_settings, 1, role="admin")
    members = seed_members(fresh_settings, ORDERS * 4)
    # As ``flashsale-admin seed-members`` and every login do: the token's version in Redis.
    entries = [(token_version_key(fresh_settings, m.member_id), 0) for m in members]
    with redis.Redis.from_url(fresh_settings.redis_url) as client:
        raise_versions(client, entries, 3600)
    plenty = (await list_product(base, admin, stock=10_000, per_user_limit=5))["product_id"]
    gone = (await list_product(base, admin, stock=1))["product_id"]
    batches = [members[i * ORDERS : (i + 1) * ORDERS] for i in range(4)]
    # Warm-up: each product's fields read, the script loaded, ``gone`` sold out.
    warm = await _orders(base, batches[3][:1], gone, lambda n: {"Prefer": "wait=5"})
    assert warm[0][0] == 201, warm
    await _orders(base, batches[3][1:2], plenty, lambda n: {})
    for _ in range(100):
        if (await _orders(base, batches[3][2:3], gone, lambda n: {}))[0][0] == 409:
            break
        await asyncio.sleep(0.05)

    async with Monitor(redis_client, name) as monitor:
        await monitor.phase()

        answers = await _orders(base, batches[0], plenty, lambda n: {})
        assert {status for status, _ in answers} == {202}, answers
        plain = _without_units_left(await monitor.phase())

        key = uuid.uuid4().hex
        answers = await _orders(base, batches[1], plenty, lambda n: {"Idempotency-Key": key})
        assert {status for status, _ in answers} == {202}, answers
        keyed = _without_units_left(await monitor.phase())

        answers = await _orders(base, batches[2], plenty, lambda n: {"Prefer": "wait=5"})
        assert {status for status, _ in answers} == {201}, answers
        waited = _without_units_left(await monitor.phase())

        answers = await _orders(base, batches[0], gone, lambda n: {})
        assert {(s, b["order_id"]) for s, b in answers} == {(409, None)}, answers
        refused = await monitor.phase()

    assert _verbs(plain) == {"EVALSHA": ORDERS}, plain
    assert _verbs(keyed) == {"EVALSHA": ORDERS}, keyed
    # The intake script, then the decisions' projection: one script call for all the
    # decisions that arrived while the previous one was in flight.
    intake = [c for c in waited if ":token-version:" in c]
    assert len(intake) == ORDERS and _verbs(waited) == {"EVALSHA": len(waited)}, waited
    assert 1 <= len(waited) - ORDERS <= ORDERS, waited
    assert not refused, refused
