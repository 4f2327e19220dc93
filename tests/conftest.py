"""Shared fixtures: settings isolated per test, real servers, real processes.

Each test that asks for ``fresh_settings`` gets its own app id (so its own topics,
consumer groups and Redis keys) and its own MySQL database, created, migrated and
dropped here. ``make test`` has already started Kafka, MariaDB and Redis.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

import kit.namespace
from kit.processes import (
    ManagedProcess,
    api_process,
    free_port,
    wait_http_ok,
    worker_process,
)
from streams.settings import Settings

TEST_JWT_SECRET = "test-secret-" + "x" * 40
SAGA_NAME = "saga-1"


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    return Settings.from_env(env="prod", jwt_secret=TEST_JWT_SECRET)


@contextlib.contextmanager
def fresh_namespace(base: Settings, data_dir: Path) -> Iterator[Settings]:
    """Settings with a fresh app id, database and data dir; the database is dropped after."""
    with kit.namespace.fresh_namespace(
        base,
        data_dir,
        prefix="t",
        remove_all=False,
        partitions=4,
        api_port=free_port(),
        admin_email="admin@example.com",
        admin_password="admin-password",
    ) as settings:
        yield settings


@pytest.fixture
def fresh_settings(base_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings with a fresh app id, database and data dir (``fresh_namespace``)."""
    with fresh_namespace(base_settings, tmp_path) as settings:
        yield settings


@pytest.fixture
def settings_factory(fresh_settings: Settings) -> Callable[..., Settings]:
    """The fresh settings with some fields replaced (same app id and database)."""

    def make(**changes: object) -> Settings:
        return dataclasses.replace(fresh_settings, **changes)  # type: ignore[arg-type]

    return make


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[..., ManagedProcess]]:
    """Start real Faust workers (``faust -A streams.app worker``) for given settings.

    ``role="stock"`` (the default) starts a stock worker and, unless one runs for
    these settings already, the saga worker that follows its decisions, as
    ``make up`` does; ``wait`` waits until the worker says it is ready (``/ready/``).
    """
    started: list[ManagedProcess] = []
    # A restarted worker keeps its name and web port, as under `make up`: it is a
    # static group member, and Faust checks that its assignment names its own URL.
    ports: dict[str, int] = {}
    sagas: dict[str, ManagedProcess] = {}

    def start(
        settings: Settings, name: str = "worker-1", wait: bool = True, role: str = "stock"
    ) -> ManagedProcess:
        if role == "stock" and not (settings.app_id in sagas and sagas[settings.app_id].alive):
            start(settings, name=SAGA_NAME, role="saga")
        datadir = tmp_path / f"{name}.data"
        named = dataclasses.replace(settings, worker_id=name, worker_role=role)
        port = ports.setdefault(name, free_port())
        proc = worker_process(named, datadir, tmp_path, name, port).start()
        started.append(proc)
        if role == "saga":
            sagas[settings.app_id] = proc
        if wait:
            wait_http_ok(f"http://127.0.0.1:{proc.web_port}/ready/", proc)
        return proc

    yield start
    for proc in reversed(started):
        proc.stop()


@pytest.fixture
def api_factory(tmp_path: Path) -> Iterator[Callable[..., tuple[ManagedProcess, str]]]:
    """Start real API processes; returns the process and its base URL."""
    started: list[ManagedProcess] = []

    def start(settings: Settings, name: str = "api") -> tuple[ManagedProcess, str]:
        port = free_port()
        settings = dataclasses.replace(settings, api_port=port)
        proc = api_process(settings, tmp_path, name).start()
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(f"{base}/healthz", proc)
        return proc, base

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
async def redis_client(fresh_settings: Settings) -> AsyncIterator[object]:
    from storage.redis import create_redis

    client = create_redis(fresh_settings.redis_url)
    yield client
    # COUNT: the shared Redis holds every run's keys; 10 a round trip took 10 s and more.
    keys = [key async for key in client.scan_iter(match=f"{fresh_settings.app_id}:*", count=10_000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()
