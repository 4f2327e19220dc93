"""After the load: how long MySQL took to hold every decided order, and the audit.

Persistence lag is measured by polling ``orders`` in the run's own database
from the end of the load until its rows per status match the latest statuses
seen in ``order-events``, and counting from the last event. ``flashsale-admin
audit`` is run against the run's settings.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

from pymysql import Connection

from kit.processes import VENV_BIN
from storage.mysql import Cursor, MySQLConfig, connect
from streams.settings import Settings
from streams.statuses import PENDING

POLL_SECONDS = 0.05


def _rows_by_status(conn: Connection[Cursor]) -> Counter[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
        return Counter({row["status"]: int(row["n"]) for row in cur.fetchall()})


def _connect(settings: Settings) -> Connection[Cursor]:
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    conn.autocommit(True)  # each count sees the latest commits, not one snapshot
    return conn


def order_rows(settings: Settings, where: str = "TRUE") -> int:
    """Rows of the run's ``orders`` table that match ``where`` (a bench's own SQL), now."""
    conn = _connect(settings)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) AS n FROM orders WHERE {where}")
            return int(cur.fetchall()[0]["n"])
    finally:
        conn.close()


class RowWatcher:
    """Samples ``orders`` by status every 50 ms from ``start`` (the end of the load).

    ``open`` before the load connects and does nothing more, so the first count
    comes the moment the load ends, without waiting for the bench's reading of
    the topics or for a new connection."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.samples: list[tuple[float, Counter[str]]] = []
        self._conn: Connection[Cursor] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def open(self) -> RowWatcher:
        self._conn = await asyncio.to_thread(_connect, self.settings)
        return self

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._poll(), name="bench-rows")

    async def stop(self) -> None:
        # No cancel: a count still running in its thread would race the close.
        self._stopping = True
        if self._task is not None:
            await self._task
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)
            self._conn = None

    async def _poll(self) -> None:
        if self._conn is None:
            await self.open()
        assert self._conn is not None
        while not self._stopping:
            rows = await asyncio.to_thread(_rows_by_status, self._conn)
            self.samples.append((time.time(), rows))
            await asyncio.sleep(POLL_SECONDS)

    async def lag(
        self, expected: Counter[str], last_event_at: float, within: float = 60.0
    ) -> dict[str, Any]:
        """Seconds after ``last_event_at`` until MySQL's orders matched ``expected`` by status.

        Gives up ``within`` seconds from now and reports the rows it last saw."""
        self.start()
        want = {status: n for status, n in expected.items() if status != PENDING and n}
        deadline = time.monotonic() + within
        seen = 0
        try:
            while time.monotonic() < deadline:
                for index in range(seen, len(self.samples)):
                    at, rows = self.samples[index]
                    if {s: n for s, n in rows.items() if s != PENDING and n} == want:
                        # Already there at the first look: the lag is at most this.
                        return {
                            "seconds": round(max(0.0, at - last_event_at), 3),
                            "complete": True,
                            "upper_bound": index == 0,
                            "rows": dict(rows),
                        }
                seen = len(self.samples)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            await self.stop()
        rows = self.samples[-1][1] if self.samples else Counter()
        return {"seconds": None, "complete": False, "rows": dict(rows), "expected": want}


async def persistence_lag(
    settings: Settings, expected: Counter[str], last_event_at: float, within: float = 60.0
) -> dict[str, Any]:
    """Seconds after ``last_event_at`` until MySQL's orders match ``expected``, from now on."""
    return await RowWatcher(settings).lag(expected, last_event_at, within)


async def _admin(settings: Settings, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "flashsale-admin"),
        *args,
        env={**os.environ, **settings.to_env()},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace")


async def audit(settings: Settings) -> dict[str, Any]:
    """``flashsale-admin audit`` against the run's settings: clean or violations."""
    code, output = await _admin(settings, "audit")
    result = "clean" if code == 0 else f"violations (exit {code})"
    return {"result": result, "exit_code": code, "output": output[-4000:]}
