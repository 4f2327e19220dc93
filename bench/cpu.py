"""CPU seconds of processes, read from ``/proc/<pid>/stat`` (no psutil).

``utime + stime`` of a process covers all its threads; a share is CPU seconds
over wall seconds, so 1.0 is one core busy. The shared servers (Kafka, MariaDB,
Redis) are found by their command names, read-only.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

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


def server_pids() -> dict[str, int]:
    """The Kafka, MariaDB and Redis processes on this machine, by role."""
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
