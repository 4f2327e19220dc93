"""The README's first ten minutes, run as written against a real API in dev, as ``make run``'s.

The walkthrough's ``curl`` block is taken from README.md itself (only its ``API=``
line points at this test's API), so the README cannot drift from what works. The
operator CLI is run the way a newcomer runs it beside ``make run``: from a shell
without any ``FLASHSALE_*`` variable, next to the ``.run/stack.env`` that ``make up``
writes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from kit.processes import VENV_BIN, ManagedProcess
from ops.stack_env import write_stack_env
from streams.settings import Settings
from tests.support.http import call

pytestmark = pytest.mark.integration

Workers = Callable[..., ManagedProcess]
Apis = Callable[..., tuple[ManagedProcess, str]]
README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- walkthrough:"
API_LINE = "API=http://127.0.0.1:8080"


def walkthrough_block() -> str:
    text = README.read_text()
    found = re.search(re.escape(MARKER) + r".*?\n```sh\n(.*?)\n```", text, re.DOTALL)
    assert found, "README.md has no walkthrough block"
    return found.group(1)


def dev(settings: Settings) -> Settings:
    """What ``make run`` runs: FLASHSALE_ENV=dev, the public dev secret, the dev admin."""
    return dataclasses.replace(settings, env="dev", jwt_secret="")


async def test_the_readme_walkthrough_runs_as_written(
    fresh_settings: Settings, worker_factory: Workers, api_factory: Apis
) -> None:
    worker_factory(fresh_settings)
    _, base = api_factory(dev(fresh_settings))
    block = walkthrough_block()
    assert block.count(API_LINE) == 1, "the walkthrough must name the API once, as make run's"
    script = block.replace(API_LINE, f"API={base}")
    done = await asyncio.to_thread(
        subprocess.run,
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    lines = done.stdout.splitlines()
    signed_up, paid, seen = (json.loads(line) for line in lines[:3])
    assert isinstance(signed_up["member_id"], int)
    assert paid["status"] == seen["status"] == "PAID"
    assert paid["order_id"] == seen["order_id"] and seen["qty"] == 1 and seen["amount"] == 99000
    assert "orders" in json.loads(lines[3])


def run_admin(cwd: Path, environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    argv = [str(VENV_BIN / "flashsale-admin"), *args]
    env = {"PATH": os.environ["PATH"], **environ}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


async def test_seed_members_beside_make_run_needs_no_variable(
    fresh_settings: Settings, api_factory: Apis, tmp_path: Path
) -> None:
    stack = dev(fresh_settings)
    _, base = api_factory(stack)
    write_stack_env(stack, tmp_path / ".run")
    # Only the test's own database differs from make run's: the shell names it.
    shell = {"FLASHSALE_MYSQL_URL": stack.mysql_url}

    seeded = await asyncio.to_thread(run_admin, tmp_path, shell, "seed-members", "--count", "10")
    assert seeded.returncode == 0, seeded.stderr
    assert len(seeded.stderr.strip().splitlines()) == 1, seeded.stderr  # the dev-secret warning
    members = [json.loads(line) for line in seeded.stdout.splitlines()]
    assert len(members) == 10
    async with aiohttp.ClientSession() as http:
        for member in members:
            status, me = await call(http, "GET", f"{base}/me", token=member["access_token"])
            assert status == 200 and me["email"] == member["email"], me

    prod = {**shell, "FLASHSALE_ENV": "prod"}
    refused = await asyncio.to_thread(run_admin, tmp_path, prod, "seed-members", "--count", "1")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "flashsale-admin: FLASHSALE_JWT_SECRET must be set to at least 32 characters"
    ]
