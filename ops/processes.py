"""Background processes with ``.run/<name>.pid`` and ``.run/<name>.log``.

Only the standard library: the stack manager must work before anything else does.
A process counts as running when its pid file names a live process whose command
line still contains the marker it was started with (a reused pid does not count).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RUN_DIR = Path(".run")


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    marker: str
    env: Mapping[str, str] | None = None
    port: int | None = None


def pid_file(name: str) -> Path:
    return RUN_DIR / f"{name}.pid"


def log_file(name: str) -> Path:
    return RUN_DIR / f"{name}.log"


def running_pid(name: str, marker: str) -> int | None:
    """The pid of ``name`` if its pid file names a live process carrying ``marker``."""
    try:
        pid = int(pid_file(name).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        status = Path(f"/proc/{pid}/status").read_text()
    except (OSError, ValueError):
        return None
    if "State:\tZ" in status or marker.encode() not in cmdline:
        return None
    return pid


def start(spec: ProcessSpec) -> int:
    """Start ``spec`` detached from this terminal; its output goes to its log."""
    RUN_DIR.mkdir(exist_ok=True)
    env = {**os.environ, **(spec.env or {})}
    with log_file(spec.name).open("ab") as log:
        proc = subprocess.Popen(
            list(spec.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    pid_file(spec.name).write_text(f"{proc.pid}\n")
    return proc.pid


def stop(name: str, marker: str, timeout: float = 30.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True if something was stopped."""
    pid = running_pid(name, marker)
    pid_file(name).unlink(missing_ok=True)
    if pid is None:
        return False
    _signal(pid, signal.SIGTERM)
    if not wait_gone(pid, timeout):
        _signal(pid, signal.SIGKILL)
        wait_gone(pid, 10.0)
    return True


def stop_together(named: Sequence[tuple[str, str]], timeout: float = 30.0) -> list[str]:
    """``stop`` for several processes at once: SIGTERM to all, then wait; the names stopped."""
    pids = {}
    for name, marker in named:
        pid = running_pid(name, marker)
        pid_file(name).unlink(missing_ok=True)
        if pid is not None:
            pids[name] = pid
            _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids.values():
        if not wait_gone(pid, max(0.0, deadline - time.monotonic())):
            _signal(pid, signal.SIGKILL)
            wait_gone(pid, 10.0)
    return list(pids)


def _signal(pid: int, signum: int) -> None:
    # It may have exited on its own since we looked.
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (reaping it if it is our child); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _alive(pid: int) -> bool:
    # Reap it if it is our own child, so it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    if "State:\tZ" not in status:
        return True
    # A zombie leader may still have threads exiting, and until the last one has, the
    # process's files stay open (its listening sockets: a restart found its port taken).
    try:
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except OSError:
        return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, what: str, timeout: float, pid: int | None = None) -> None:
    """Wait until ``port`` accepts connections; fail early if ``pid`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if pid is not None and not _alive(pid):
            raise RuntimeError(f"{what} exited during start-up; see its log in {RUN_DIR}/")
        time.sleep(0.2)
    raise RuntimeError(
        f"{what} did not open port {port} within {timeout:.0f}s; see its log in {RUN_DIR}/"
    )
