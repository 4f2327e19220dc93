"""CPU seconds of processes, read from ``/proc/<pid>/stat`` (no psutil).

``utime + stime`` of a process covers all its threads; a share is CPU seconds
over wall seconds, so 1.0 is one core busy. The shared servers (MariaDB, Redis)
are found by their command names, read-only; the Kafka brokers by the ports the
settings' bootstrap names (``kafka``, or ``kafka-1`` … with several), so a
cluster's brokers are counted, each, and not another broker on the machine.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

TICKS = os.sysconf("SC_CLK_TCK")
SERVER_NAMES = {"java": "kafka", "mariadbd": "mariadb", "mysqld": "mariadb"}
SERVER_NAMES["redis-server"] = "redis"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far; 0.0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name may contain spaces: the fields start after its ")".
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def server_pids(broker_ports: list[int] | None = None) -> dict[str, int]:
    """The Kafka, MariaDB and Redis processes on this machine, by role."""
    found = _named_servers()
    if broker_ports:
        found.pop("kafka", None)
        names = ["kafka"] if len(broker_ports) == 1 else [f"kafka-{n}" for n in range(1, 99)]
        for name, port in zip(names, broker_ports, strict=False):
            if pid := listening_pid(port):
                found[name] = pid
    return found


def listening_pid(port: int) -> int | None:
    """The process listening on TCP ``port`` (loopback or any address), if it is ours to see."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "ADDR:PORT" in hex; state 0A is LISTEN.
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


def _named_servers() -> dict[str, int]:
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        role = SERVER_NAMES.get(comm)
        if role and (role != "kafka" or _is_kafka(entry)):
            found.setdefault(role, int(entry.name))
    return found


def _is_kafka(entry: Path) -> bool:
    try:
        return b"kafka" in (entry / "cmdline").read_bytes()
    except OSError:
        return False


class Processes(Protocol):
    """Anything that names its processes: a scenario's stack, the peer."""

    def pids(self) -> dict[str, int]: ...


@dataclass
class CpuMeter:
    """CPU shares of named processes between ``start`` and ``stop``."""

    pids: dict[str, int]
    began: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    shares: dict[str, float] = field(default_factory=dict)

    def start(self) -> CpuMeter:
        self.began = time.monotonic()
        self.before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def add(self, name: str, pid: int) -> None:
        """Watch one more process from now on (e.g. the load generator once started)."""
        self.pids[name] = pid
        self.before[name] = cpu_seconds(pid)

    def sample(self) -> dict[str, float]:
        """CPU seconds used so far by each process (a gone process keeps its last reading)."""
        for name, pid in self.pids.items():
            now = cpu_seconds(pid)
            if now:
                self.last[name] = max(0.0, now - self.before[name])
        return {name: self.last.get(name, 0.0) for name in self.pids}

    def stop(self, used: dict[str, float] | None = None) -> dict[str, float]:
        wall = max(time.monotonic() - self.began, 1e-6)
        used = used if used is not None else self.sample()
        self.shares = {name: round(seconds / wall, 3) for name, seconds in used.items()}
        self.shares["wall_seconds"] = round(wall, 3)
        return self.shares
