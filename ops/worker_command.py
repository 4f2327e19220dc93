"""The one command line that starts a Faust worker, for ``make run``/``up``, tests and the bench."""

from __future__ import annotations

import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


# The saga role yields the CPU to the stock role: on a small machine, a saga worker
# catching up on order events would otherwise slow the decisions down (measured: a
# stock worker decided 406 commands/s alone, 256/s beside a busy saga worker).
SAGA_NICENESS = 10


def worker_argv(
    datadir: Path, web_port: int, log_level: str = "info", role: str = "stock"
) -> list[str]:
    """``faust worker`` on uvloop: it decides about twice as many commands a second as
    on asyncio's own loop here, since producing to Kafka is mostly socket writes.
    The role itself comes from ``FLASHSALE_WORKER_ROLE``; a saga worker runs niced."""
    niced = ["nice", "-n", str(SAGA_NICENESS)] if role == "saga" else []
    return [
        *niced,
        *(str(VENV_BIN / "faust"), "--loop", "uvloop", "-A", "streams.app"),
        *("--datadir", str(datadir), "worker", "-l", log_level),
        *("--web-host", "127.0.0.1", "--web-port", str(web_port)),
    ]
