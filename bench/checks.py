"""After the load: how long MySQL took to hold every decided order, and the audit.

Persistence lag is measured by polling ``orders`` in the run's own database
until its rows per status match the latest statuses seen in ``order-events``,
and counting from the last event. ``flashsale-admin audit`` is run against the
run's settings.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

from bench.procs import VENV_BIN
from storage.mysql import MySQLConfig, connect
from streams.settings import Settings
from streams.statuses import PENDING

POLL_SECONDS = 0.05


def _rows_by_status(settings: Settings) -> Counter[str]:
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
            return Counter({row["status"]: int(row["n"]) for row in cur.fetchall()})
    finally:
        conn.close()


async def persistence_lag(
    settings: Settings, expected: Counter[str], last_event_at: float, within: float = 60.0
) -> dict[str, Any]:
    """Seconds after ``last_event_at`` until MySQL's orders match ``expected`` by status.

    Gives up after ``within`` seconds and reports the rows it last saw."""
    want = {status: n for status, n in expected.items() if status != PENDING and n}
    deadline = time.monotonic() + within
    rows: Counter[str] = Counter()
    first = True
    while time.monotonic() < deadline:
        rows = await asyncio.to_thread(_rows_by_status, settings)
        if {s: n for s, n in rows.items() if s != PENDING and n} == want:
            lag = max(0.0, time.time() - last_event_at)
            # Already there at the first look: the lag is at most this, maybe much less.
            return {
                "seconds": round(lag, 3),
                "complete": True,
                "upper_bound": first,
                "rows": dict(rows),
            }
        first = False
        await asyncio.sleep(POLL_SECONDS)
    return {"seconds": None, "complete": False, "rows": dict(rows), "expected": want}


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
