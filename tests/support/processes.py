"""Real worker and API processes for integration tests, with their own settings."""

from __future__ import annotations

import socket
from pathlib import Path

from ops.children import VENV_BIN, ManagedProcess, free_port, wait_http_ok
from ops.worker_command import worker_argv
from streams.settings import Settings

__all__ = [
    "ManagedProcess",
    "api_process",
    "free_port",
    "free_port_run",
    "wait_http_ok",
    "worker_process",
]


def worker_process(
    settings: Settings, datadir: Path, log_dir: Path, name: str, port: int | None = None
) -> ManagedProcess:
    port = port or free_port()
    argv = worker_argv(datadir, port, role=settings.worker_role)
    return ManagedProcess(name, argv, settings.to_env(), log_dir / f"{name}.log", port)


def api_process(settings: Settings, log_dir: Path, name: str = "api") -> ManagedProcess:
    argv = [str(VENV_BIN / "flashsale-api")]
    return ManagedProcess(name, argv, settings.to_env(), log_dir / f"{name}.log", settings.api_port)


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free ports (API process N's own port is
    ``api_metrics_port`` + N - 1)."""
    for _ in range(50):
        first = free_port()
        if all(_bindable(first + n) for n in range(1, count)):
            return first
    raise RuntimeError(f"no {count} consecutive free ports")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
