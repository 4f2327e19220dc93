"""Child processes with their own log file: started, stopped, or killed with -9.

Used by the load bench and the integration tests, which run real workers, API
instances and load generators next to each other; ``worker_process`` and
``api_process`` start the pipeline's own, with their settings in the environment.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from ops.worker_command import VENV_BIN, worker_argv
from streams.settings import Settings

# Below Linux's ephemeral range (32768-60999): the kernel never gives these to an
# outgoing connection, so a server stopped and started again on its port finds it free
# (seen: a saga worker restarted by a test found its port taken by a Kafka client).
SERVER_PORTS = range(20000, 32768)


def free_port() -> int:
    for _ in range(200):
        port = random.choice(SERVER_PORTS)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {SERVER_PORTS}")


class ManagedProcess:
    """A child process writing to ``log_path``; ``stop`` (SIGTERM) or ``kill`` (SIGKILL)."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], log_path: Path, port: int = 0
    ) -> None:
        self.name, self.argv, self.env, self.log_path = name, argv, env, log_path
        self.port = port
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
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.send_signal(signum)

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

    @property
    def web_port(self) -> int:
        """The port it serves HTTP on (a worker's Faust web server, the API)."""
        return self.port

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, chars: int = 4000) -> str:
        return self.log()[-chars:]


def wait_http_ok(url: str, proc: ManagedProcess, timeout: float = 90.0) -> None:
    """Wait until ``url`` answers 200, failing early if ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive:
            raise RuntimeError(f"{proc.name} died during start-up:\n{proc.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready within {timeout}s:\n{proc.log_tail()}")


def worker_process(
    settings: Settings,
    datadir: Path,
    log_dir: Path,
    name: str,
    port: int | None = None,
    log_level: str = "info",
) -> ManagedProcess:
    """A Faust worker in ``settings.worker_role``, its table store in ``datadir`` (not started)."""
    port = port or free_port()
    argv = worker_argv(datadir, port, log_level=log_level, role=settings.worker_role)
    return ManagedProcess(name, argv, settings.to_env(), log_dir / f"{name}.log", port)


def api_process(settings: Settings, log_dir: Path, name: str = "api") -> ManagedProcess:
    """One API process on ``settings.api_port`` (not started)."""
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
