"""Stopping a shared server (Kafka, MariaDB or Redis) for a while, and always restarting it.

"Stopped" means what an operator means: the server process is gone. It gets
SIGTERM (its own clean shutdown; SIGKILL after a minute), its port refuses
connections, in-flight requests fail and open connections break. After the
outage it is started again with the command line and working directory it ran
with, on the same data, and is back once it answers its own protocol (Kafka
metadata, a MySQL query, a Redis PING). Redis rewrites its process title, so
its command line is rebuilt from ``CONFIG GET`` instead.

The servers are those ``python -m ops.stack services`` runs, found through
``.run/<name>.pid``; a server the stack did not start is not touched (the test
is skipped). They are shared, so an outage waits until no other pytest run is
using them. Every server stopped here is restarted: by ``server_stopped`` on the
way out, or else by ``restore_all`` (session teardown, and at exit).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
import redis

from storage.mysql import MySQLConfig
from streams.settings import Settings

REPO = Path(__file__).resolve().parents[2]
RUN_DIR = REPO / ".run"
MARKERS = {"kafka": "kafka.Kafka", "mariadb": "mariadbd", "redis": "redis-server"}
PORTS = {"kafka": 9092, "mariadb": 3306, "redis": 6379}
STOP_SECONDS = 60.0
START_SECONDS = 180.0
OTHERS_WAIT_SECONDS = 300.0


@dataclass
class Stopped:
    name: str
    argv: list[str]
    cwd: str
    stopped_at: float


_stopped: dict[str, Stopped] = {}


def _cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


def running_pid(name: str) -> int | None:
    """The pid in ``.run/<name>.pid`` if it is alive and is that server."""
    try:
        pid = int((RUN_DIR / f"{name}.pid").read_text().strip())
        alive = "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
        return pid if alive and MARKERS[name] in " ".join(_cmdline(pid)) else None
    except (OSError, ValueError):
        return None


def _redis_argv(settings: Settings) -> list[str]:
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    try:
        names = ("bind", "port", "dir", "appendonly", "save", "dbfilename", "appendfilename")
        config = {name: str(client.config_get(name)[name]) for name in names}
    finally:
        client.close()
    argv = ["redis-server"]
    for name, value in config.items():
        argv += [f"--{name}", *(value.split() if name == "bind" else [value])]
    return argv


def stop_server(name: str, settings: Settings) -> Stopped:
    pid = running_pid(name)
    if pid is None:
        pytest.skip(f"{name} is not a server `python -m ops.stack services` started")
    argv = _redis_argv(settings) if name == "redis" else _cmdline(pid)
    stopped = Stopped(name, argv, os.readlink(f"/proc/{pid}/cwd"), time.monotonic())
    _stopped[name] = stopped
    os.kill(pid, signal.SIGTERM)
    if not _gone(pid, STOP_SECONDS):
        os.kill(pid, signal.SIGKILL)
        _gone(pid, 10.0)
    stopped.stopped_at = time.monotonic()
    return stopped


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # a server restarted here is our child
        try:
            if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                return True
        except OSError:
            return True
        time.sleep(0.1)
    return False


def start_server(stopped: Stopped, settings: Settings) -> None:
    """Start it again as it ran, write its pid file, wait until it answers."""
    with (RUN_DIR / f"{stopped.name}.log").open("ab") as log:
        proc = subprocess.Popen(
            stopped.argv,
            cwd=stopped.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    (RUN_DIR / f"{stopped.name}.pid").write_text(f"{proc.pid}\n")
    _stopped.pop(stopped.name, None)
    wait_answering(stopped.name, settings, START_SECONDS)


def _answers(name: str, settings: Settings) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        if sock.connect_ex(("127.0.0.1", PORTS[name])) != 0:
            return False
    try:
        if name == "mariadb":
            config = MySQLConfig.from_url(settings.mysql_url)
            pymysql.connect(
                host=config.host, port=config.port, user=config.user, password=config.password
            ).close()
        elif name == "redis":
            return bool(redis.Redis.from_url(settings.redis_url).ping())
        else:
            return _kafka_answers(settings)
    except (pymysql.MySQLError, redis.RedisError, OSError):
        return False
    return True


def _kafka_answers(settings: Settings) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        try:
            await admin.start()
            await admin.list_topics()
        except (KafkaError, OSError):
            return False
        finally:
            await admin.close()
        return True

    return asyncio.run(probe())


def wait_answering(name: str, settings: Settings, within: float) -> None:
    deadline = time.monotonic() + within
    while not _answers(name, settings):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not come back; run `python -m ops.stack services`")
        time.sleep(0.5)


def restore_all(settings: Settings | None = None) -> None:
    """Start every server a test stopped and did not restart (an interrupted test)."""
    settings = settings or Settings.from_env()
    for stopped in list(_stopped.values()):
        start_server(stopped, settings)


atexit.register(restore_all)


def _is_pytest(argv: list[str]) -> bool:
    runs = any(Path(arg).name in ("pytest", "py.test") for arg in argv[:3])
    return runs or ("-m" in argv[:3] and "pytest" in argv[:4])


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _lineage(pid: int) -> set[int]:
    """``pid`` and its ancestors."""
    seen: set[int] = set()
    with contextlib.suppress(OSError, ValueError, IndexError):
        while pid > 1 and pid not in seen:
            seen.add(pid)
            pid = _parent(pid)
    return seen


def other_pytest_runs() -> list[str]:
    """Command lines of pytest runs other than this one (and what started it)."""
    me = os.getpid()
    mine = _lineage(me)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        with contextlib.suppress(OSError):
            argv = _cmdline(int(entry.name))
            if _is_pytest(argv) and me not in _lineage(int(entry.name)):
                found.append(" ".join(argv))
    return found


async def wait_for_sole_use() -> None:
    """Until no other pytest run uses the shared servers; skip after a few minutes."""
    deadline = time.monotonic() + OTHERS_WAIT_SECONDS
    while others := other_pytest_runs():
        if time.monotonic() > deadline:
            pytest.skip(f"other test runs use the shared servers: {others[:3]}")
        await asyncio.sleep(2.0)


@contextlib.asynccontextmanager
async def server_stopped(name: str, settings: Settings, seconds: float) -> AsyncIterator[Stopped]:
    """``name`` is down inside the block and at least ``seconds`` in all; then back up."""
    await wait_for_sole_use()
    stopped = await asyncio.to_thread(stop_server, name, settings)
    try:
        yield stopped
        left = seconds - (time.monotonic() - stopped.stopped_at)
        if left > 0:
            await asyncio.sleep(left)
    finally:
        await asyncio.to_thread(start_server, stopped, settings)
