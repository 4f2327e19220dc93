"""MySQL access that never blocks the event loop.

pymysql is synchronous, so every unit of work runs in a bounded thread pool on a
pooled connection, inside one short transaction: ``await db.run(fn)`` calls
``fn(cursor)``, commits, and returns its result. A connection that failed is
dropped, not reused.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import pymysql
import pymysql.cursors

T = TypeVar("T")
Cursor = pymysql.cursors.DictCursor


@dataclass(frozen=True)
class MySQLConfig:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_url(cls, url: str) -> MySQLConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb"):
            raise ValueError(f"not a mysql:// URL: {url!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/"),
        )

    def with_database(self, database: str) -> MySQLConfig:
        return MySQLConfig(self.host, self.port, self.user, self.password, database)


def connect(config: MySQLConfig, timeout: float = 5.0) -> pymysql.Connection[Cursor]:
    return pymysql.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        database=config.database or None,
        charset="utf8mb4",
        autocommit=False,
        cursorclass=Cursor,
        connect_timeout=int(max(1, timeout)),
        read_timeout=30,
        write_timeout=30,
        # DATETIME columns hold naive UTC; UTC sessions make FROM_UNIXTIME,
        # UNIX_TIMESTAMP and CURRENT_TIMESTAMP agree with them on any server.
        init_command="SET time_zone = '+00:00'",
    )


class Database:
    """A small pool of pymysql connections used from worker threads."""

    def __init__(self, url: str, size: int = 8) -> None:
        self.config = MySQLConfig.from_url(url)
        self._idle: queue.SimpleQueue[pymysql.Connection[Cursor]] = queue.SimpleQueue()
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="mysql")

    async def run(self, work: Callable[[Cursor], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._run_sync, work)

    def _run_sync(self, work: Callable[[Cursor], T]) -> T:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.config)
        try:
            with conn.cursor() as cursor:
                result = work(cursor)
            conn.commit()
        except pymysql.MySQLError:
            conn.close()
            raise
        except BaseException:
            conn.rollback()
            self._idle.put(conn)
            raise
        self._idle.put(conn)
        return result

    async def ping(self) -> bool:
        try:
            await asyncio.wait_for(self.run(lambda cur: cur.execute("SELECT 1")), timeout=2.0)
        except (pymysql.MySQLError, OSError, TimeoutError):
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
            except pymysql.MySQLError:
                continue
