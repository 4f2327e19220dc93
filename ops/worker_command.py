"""The one command line that starts a Faust worker, for ``make run``/``up``, tests and the bench."""

from __future__ import annotations

import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def worker_argv(datadir: Path, web_port: int, log_level: str = "info") -> list[str]:
    """``faust worker`` on uvloop: it decides about twice as many commands a second as
    on asyncio's own loop here, since producing to Kafka is mostly socket writes."""
    return [
        *(str(VENV_BIN / "faust"), "--loop", "uvloop", "-A", "streams.app"),
        *("--datadir", str(datadir), "worker", "-l", log_level),
        *("--web-host", "127.0.0.1", "--web-port", str(web_port)),
    ]
