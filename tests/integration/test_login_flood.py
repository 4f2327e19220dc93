"""A login flood is refused with 429 before any password hashing, while orders are served.

32 connections send wrong-password logins for made-up accounts (credential
stuffing, from one address) for a few seconds, against a real API, worker, MariaDB
and Redis. Meanwhile members keep ordering. Without the limits every one of those
logins cost 57 ms of scrypt; with them at most the address's allowance is hashed and
the rest is answered 429 RATE_LIMITED with Retry-After. Before the flood, one
account is guessed at until its own limit refuses it, its right password too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from api.auth_limits import ACCOUNT_LIMIT, WINDOW_SECONDS
from kit.processes import ManagedProcess
from kit.sale import Member
from streams.settings import Settings
from tests.support.http import call
from tests.support.sale import open_sale

pytestmark = pytest.mark.integration

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]
# Low, so the address limit refuses the flood (not the hashing queue) on any machine.
ADDRESS_LIMIT = 15
FLOOD_CONNECTIONS = 32
FLOOD_SECONDS = 3.0
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "right password"


async def order(http: aiohttp.ClientSession, base: str, member: Member, product: int) -> float:
    began = time.monotonic()
    status, answer = await call(
        http,
        "POST",
        f"{base}/orders",
        token=member.token,
        body={"product_id": product, "qty": 1},
        headers={"Prefer": "wait=5"},
    )
    assert (status, answer["status"]) == (201, "RESERVED"), answer
    return time.monotonic() - began


async def start_flood(base: str) -> asyncio.subprocess.Process:
    """The flood in its own process (tests/support/login_flood.py), once it is sending."""
    argv = ["-m", "tests.support.login_flood", base, str(FLOOD_SECONDS), str(FLOOD_CONNECTIONS)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None
    assert await proc.stdout.readline() == b"flooding\n"
    return proc


async def flood_answers(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return dict(json.loads(out))


async def guess_until_refused(http: aiohttp.ClientSession, base: str, email: str) -> list[int]:
    """ACCOUNT_LIMIT wrong passwords for one account, then the right one."""
    statuses = []
    for password in ["wrong password"] * ACCOUNT_LIMIT + [PASSWORD]:
        body = {"email": email, "password": password}
        statuses.append((await call(http, "POST", f"{base}/auth/login", body=body))[0])
    return statuses


async def test_a_login_flood_is_refused_while_orders_are_served(
    fresh_settings: Settings, worker_factory: Workers, api_factory: Apis
) -> None:
    settings = dataclasses.replace(fresh_settings, auth_rate_limit=ADDRESS_LIMIT)
    sale = await open_sale(settings, worker_factory, api_factory, members=40, stock=100)
    base, members = sale.base, sale.members
    # Every attempt below in one one-minute window of the limits (they take ~6 s).
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 20:
        await asyncio.sleep(left + 0.1)
    async with aiohttp.ClientSession() as http:
        signup = {"email": "victim@example.com", "password": PASSWORD, "name": "Victim"}
        assert (await call(http, "POST", f"{base}/auth/signup", body=signup))[0] == 201
        guessed = await guess_until_refused(http, base, "victim@example.com")
        assert guessed == [401] * ACCOUNT_LIMIT + [429], guessed

        before = [await order(http, base, m, sale.product_id) for m in members[:10]]
        flooding = await start_flood(base)
        during = []
        while flooding.returncode is None and len(during) < len(members) - 10:
            during.append(await order(http, base, members[10 + len(during)], sale.product_id))
        answers = await flood_answers(flooding)

    statuses = Counter({int(status): n for status, n in answers["statuses"].items()})
    print(
        f"flood: {statuses.total()} logins in {FLOOD_SECONDS:.0f} s, {dict(statuses)};"
        f" orders p50 {statistics.median(before) * 1000:.0f} ms before,"
        f" {statistics.median(during) * 1000:.0f} ms during ({len(during)} orders)"
    )
    assert set(statuses) <= {401, 429}, statuses
    # Hashed: at most what the address had left of its allowance this minute.
    assert statuses[401] <= ADDRESS_LIMIT - ACCOUNT_LIMIT - 1, statuses
    # Each connection sent at least once, however slow this machine is.
    assert statuses[429] >= FLOOD_CONNECTIONS - (ADDRESS_LIMIT - ACCOUNT_LIMIT - 1), statuses
    for status, retry_after, code in answers["seen"]:
        if status == 429:
            assert code == "RATE_LIMITED" and 1 <= int(retry_after) <= WINDOW_SECONDS
        else:
            assert code == "INVALID_CREDENTIALS" and retry_after is None
    assert during, "no order was served during the flood"
