"""One scenario's own stack: a fresh app id and database, its workers and its API.

Kafka, MariaDB and Redis are shared (``python -m ops.stack services`` brings them
up). Everything this run creates is named after its app id (``bench<hex>``) and
removed by ``close`` unless the run is kept for inspection: its topics, its
Redis keys and its database, never anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import shutil
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from bench.shapes import Shape
from kit.namespace import create_database, drop_database, drop_topics_and_keys, fresh_settings
from kit.processes import ManagedProcess, free_port, wait_http_ok, worker_process
from ops.stack import api_specs
from streams.admin import ensure_topics
from streams.settings import Settings

# The saga worker's key among the workers' ports (stock workers are 1, 2, ...).
SAGA_NUMBER = 0


def run_settings(base: Settings, shape: Shape, run_dir: Path, **changes: object) -> Settings:
    """``base`` with a fresh app id and database, and the scenario's settings."""
    scenario: dict[str, object] = {
        "api_port": free_port(),
        # Each API process's own port: this one and the next ones (ops/stack.api_spec).
        "api_metrics_port": free_port(),
        "jwt_secret": base.jwt_secret or secrets.token_hex(32),
        "admin_email": base.admin_email or "admin@example.com",
        "admin_password": base.admin_password or "admin-password",
        "payment_failure_rate": shape.payment_failure_rate,
        "hold_seconds": shape.hold_seconds,
        "rate_limit": shape.rate_limit,
    }
    # A scenario's own changes (e.g. recovery's hold time) win over its shape's.
    return fresh_settings(base, run_dir, **{**scenario, **changes})


class BenchStack:
    """The processes and data of one scenario run."""

    def __init__(self, settings: Settings, run_dir: Path) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.workers: list[ManagedProcess] = []
        # A worker keeps its name and port across restarts, as under `make up`: a
        # static group member gets its partitions back at once after a crash.
        self.worker_ports: dict[int, int] = {}
        self.apis: list[ManagedProcess] = []
        self.saga: ManagedProcess | None = None
        self.created_database = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.api_port}"

    async def create(self) -> None:
        """The run's database (migrated) and topics."""
        await asyncio.to_thread(create_database, self.settings)
        self.created_database = True
        await ensure_topics(self.settings)

    def worker_data(self, number: int) -> Path:
        return self.run_dir / f"worker-{number}.data"

    def worker(self, number: int) -> ManagedProcess:
        return self._faust_process(f"worker-{number}", "stock", number)

    def _faust_process(self, name: str, role: str, number: int) -> ManagedProcess:
        # Each worker its own table store: two RocksDB instances cannot share a folder.
        datadir = self.run_dir / f"{name}.data"
        datadir.mkdir(parents=True, exist_ok=True)
        named = dataclasses.replace(
            self.settings, data_dir=str(datadir), worker_id=name, worker_role=role
        )
        port = self.worker_ports.setdefault(number, free_port())
        return worker_process(named, datadir, self.run_dir, name, port)

    async def start_worker(
        self, number: int, wait: bool = True, ready_within: float = 90.0
    ) -> ManagedProcess:
        """Stock worker ``number``; ``wait``: until it says it decides (``/ready/``), at
        most ``ready_within`` seconds (a restore of a long changelog takes minutes)."""
        proc = self.worker(number).start()
        if number <= len(self.workers):
            self.workers[number - 1] = proc
        else:
            self.workers.append(proc)
        if wait:
            url = f"http://127.0.0.1:{proc.port}/ready/"
            await asyncio.to_thread(wait_http_ok, url, proc, ready_within)
        return proc

    async def start_saga(self) -> ManagedProcess:
        """The saga worker (payments, rows, order status, expiries), once ready."""
        self.saga = self._faust_process("saga-1", "saga", SAGA_NUMBER).start()
        url = f"http://127.0.0.1:{self.saga.port}/ready/"
        await asyncio.to_thread(wait_http_ok, url, self.saga)
        return self.saga

    async def start(self) -> None:
        """Every worker, until all of them hold partitions, then the API (once ready)."""
        await self.start_saga()
        for number in range(1, self.settings.workers + 1):
            await self.start_worker(number)
        # A scenario measures a settled group: a worker that joins after the load has
        # begun rebalances the group in the middle of it.
        await self.wait_group_settled(self.settings.workers)
        # As make up runs them: FLASHSALE_API_PROCESSES processes on the one API port.
        for spec in api_specs(self.settings):
            log = self.run_dir / f"{spec.name}.log"
            api = ManagedProcess(spec.name, list(spec.argv), dict(spec.env or {}), log).start()
            self.apis.append(api)
        for spec, api in zip(api_specs(self.settings), self.apis, strict=True):
            await asyncio.to_thread(wait_http_ok, f"http://127.0.0.1:{spec.port}/readyz", api)

    async def wait_group_settled(self, members: int, within: float = 90.0) -> None:
        """Until the workers' consumer group is Stable with ``members`` members."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            deadline = asyncio.get_running_loop().time() + within
            while True:
                (response,) = await admin.describe_consumer_groups([self.settings.app_id])
                group = response.to_object()["groups"][0]
                if group["state"] == "Stable" and len(group["members"]) == members:
                    return
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"consumer group not settled: {group['state']}")
                await asyncio.sleep(0.2)
        finally:
            await admin.close()

    def pids(self) -> dict[str, int]:
        procs = [
            *self.workers,
            *([self.saga] if self.saga else []),
            *self.apis,
        ]
        return {proc.name: proc.pid for proc in procs if proc.alive}

    def wipe_worker_data(self, number: int) -> None:
        shutil.rmtree(self.worker_data(number), ignore_errors=True)

    async def close(self, keep: bool) -> None:
        for proc in [
            *self.apis,
            *self.workers,
            *([self.saga] if self.saga else []),
        ]:
            await asyncio.to_thread(proc.stop)
        if keep:
            return
        for number in range(1, len(self.workers) + 1):
            self.wipe_worker_data(number)
        await drop_topics_and_keys(self.settings)
        if self.created_database:
            await asyncio.to_thread(drop_database, self.settings)
