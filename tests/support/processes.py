"""Real worker and API processes for integration tests, with their own settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from streams.settings import Settings

VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagedProcess:
    """A child process with its log in ``log_path``; stopped by ``stop``/``kill``."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.argv, self.env, self.log_path = argv, env, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """``kill -9``: no clean shutdown, no flush, no commit."""
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_http_ok(url: str, proc: ManagedProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive:
            raise RuntimeError(f"process died during start-up:\n{proc.log()[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready within {timeout}s:\n{proc.log()[-4000:]}")


def worker_process(
    settings: Settings, datadir: Path, log_dir: Path, name: str, port: int | None = None
) -> ManagedProcess:
    port = port or free_port()
    argv = [str(VENV_BIN / "faust"), "-A", "streams.app", "--datadir", str(datadir), "worker"]
    argv += ["-l", "info", "--web-host", "127.0.0.1", "--web-port", str(port)]
    proc = ManagedProcess(argv, settings.to_env(), log_dir / f"{name}.log")
    proc.web_port = port  # type: ignore[attr-defined]
    return proc


def api_process(settings: Settings, log_dir: Path, name: str = "api") -> ManagedProcess:
    return ManagedProcess(
        [str(VENV_BIN / "flashsale-api")], settings.to_env(), log_dir / f"{name}.log"
    )
