"""Real worker and API processes for integration tests, with their own settings."""

from __future__ import annotations

from pathlib import Path

from ops.children import VENV_BIN, ManagedProcess, free_port, wait_http_ok
from ops.worker_command import worker_argv
from streams.settings import Settings

__all__ = ["ManagedProcess", "api_process", "free_port", "wait_http_ok", "worker_process"]


def worker_process(
    settings: Settings, datadir: Path, log_dir: Path, name: str, port: int | None = None
) -> ManagedProcess:
    port = port or free_port()
    argv = worker_argv(datadir, port, role=settings.worker_role)
    return ManagedProcess(name, argv, settings.to_env(), log_dir / f"{name}.log", port)


def api_process(settings: Settings, log_dir: Path, name: str = "api") -> ManagedProcess:
    argv = [str(VENV_BIN / "flashsale-api")]
    return ManagedProcess(name, argv, settings.to_env(), log_dir / f"{name}.log", settings.api_port)
