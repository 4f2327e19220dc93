"""``flashsale-admin seed-members``: 10,000 members in one bulk insert, each printed
with an access token that the real API accepts."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt
import pytest
from redis.asyncio import Redis

from kit.processes import VENV_BIN, ManagedProcess
from streams.redis_keys import token_version_key
from streams.settings import Settings
from tests.support.http import call

pytestmark = pytest.mark.integration


def seed(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "flashsale-admin"), "seed-members", *args],
        env=settings.to_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_ten_thousand_members_with_working_tokens(
    fresh_settings: Settings, api_factory: Callable[..., tuple[ManagedProcess, str]]
) -> None:
    started = time.perf_counter()
    done = seed(fresh_settings, "--count", "10000", "--prefix", "load-", "--ttl", "3600")
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    assert elapsed < 10.0, f"seed-members took {elapsed:.1f} s"  # the contract's bound
    members: list[dict[str, Any]] = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(members) == 10_000
    assert all(set(m) == {"member_id", "email", "access_token"} for m in members)
    assert len({m["member_id"] for m in members}) == 10_000
    assert members[0]["email"] == "load-1@seed.example"
    claims = jwt.decode(members[0]["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 3600

    _, base = api_factory(fresh_settings)
    async with aiohttp.ClientSession() as http:
        for member in members[::2500]:
            status, me = await call(http, "GET", f"{base}/me", token=member["access_token"])
            assert status == 200
            assert (me["member_id"], me["email"], me["role"]) == (
                member["member_id"],
                member["email"],
                "member",
            )

    again = seed(fresh_settings, "--count", "5", "--prefix", "load-")
    assert again.returncode == 1 and "choose another --prefix" in again.stderr
    assert again.stdout == ""


def test_bad_arguments_are_refused(fresh_settings: Settings) -> None:
    assert seed(fresh_settings, "--count", "0").returncode == 2
    assert seed(fresh_settings, "--count", "1", "--prefix", "no spaces").returncode == 2


async def test_seeded_members_token_versions_are_in_redis_for_the_tokens_lifetime(
    fresh_settings: Settings, redis_client: Redis
) -> None:
    done = seed(fresh_settings, "--count", "3", "--ttl", "600")
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines():
        key = token_version_key(fresh_settings, json.loads(line)["member_id"])
        assert await redis_client.get(key) == "0"
        assert 590 <= await redis_client.ttl(key) <= 600
