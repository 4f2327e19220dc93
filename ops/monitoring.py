"""A real Prometheus on 127.0.0.1:9090, scraping exactly what ``make up`` started.

Debian's ``prometheus`` package provides ``prometheus`` and ``promtool`` (installed
on first use, as MariaDB and Redis are). The scrape configuration is written to
``.run/prometheus/prometheus.yml`` from the processes of the stack (every API
process, every stock worker, the saga worker), with the recording and alert rules
of ``ops/prometheus/rules.yml``; when the stack changes (another
``FLASHSALE_WORKERS``), ``make up`` rewrites it and tells the running Prometheus
to reload it (SIGHUP). Its data lives in ``.run/prometheus/data``.

Only the standard library: the stack manager runs this. The configuration is
written as JSON, which Prometheus reads as the YAML it is.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ops.processes import RUN_DIR, ProcessSpec, port_open, running_pid, start, wait_for_port
from ops.services import StackError, ensure_command

PROMETHEUS_PORT = 9090
RULES = Path("ops/prometheus/rules.yml")
SCRAPE_INTERVAL = "5s"
# Long enough to compare a sale with the last one; the data stays under .run/.
RETENTION = "15d"


@dataclass(frozen=True)
class Target:
    """One process Prometheus scrapes: its job (kind), name and port on loopback."""

    job: str
    name: str
    port: int


def scrape_config(
    targets: Iterable[Target],
    rules: Path = RULES,
    interval: str = SCRAPE_INTERVAL,
    self_port: int = PROMETHEUS_PORT,
) -> dict[str, Any]:
    """A Prometheus configuration: one job per kind of process, each process
    labelled with its name (``process="worker-2"``), and Prometheus itself."""
    jobs: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        static = {"targets": [f"127.0.0.1:{target.port}"], "labels": {"process": target.name}}
        jobs.setdefault(target.job, []).append(static)
    jobs["prometheus"] = [{"targets": [f"127.0.0.1:{self_port}"]}]
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules.resolve())],
        "scrape_configs": [
            {"job_name": job, "metrics_path": "/metrics", "static_configs": statics}
            for job, statics in jobs.items()
        ],
    }


def home() -> Path:
    return (RUN_DIR / "prometheus").resolve()


def config_path() -> Path:
    return home() / "prometheus.yml"


def prometheus_spec(config: Path, data: Path, port: int = PROMETHEUS_PORT) -> ProcessSpec:
    return ProcessSpec(
        name="prometheus",
        argv=[
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--storage.tsdb.retention.time={RETENTION}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        # The configuration's path: this checkout's Prometheus, no other one.
        marker=str(config),
        port=port,
    )


def stack_spec() -> ProcessSpec:
    return prometheus_spec(config_path(), home() / "data")


def ensure_installed() -> None:
    """``prometheus`` and ``promtool`` from Debian, once."""
    ensure_command("promtool", "prometheus")


def write_config(targets: Iterable[Target], path: Path) -> bool:
    """Write the configuration for ``targets``; True if it changed."""
    # Written by `make up` (ops/monitoring.py): JSON is YAML, and JSON has no comments.
    text = json.dumps(scrape_config(targets), indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


def ensure_prometheus(targets: Iterable[Target]) -> bool:
    """Prometheus running with a configuration for ``targets``; True if started now.

    A running one of ours reloads a changed configuration; a port taken by another
    Prometheus is an error, since it would not scrape this stack.
    """
    ensure_installed()
    spec = stack_spec()
    changed = write_config(targets, config_path())
    pid = running_pid(spec.name, spec.marker)
    if pid is not None:
        if changed:
            os.kill(pid, signal.SIGHUP)  # Prometheus reloads its configuration
        return False
    assert spec.port is not None
    if port_open(spec.port):
        raise StackError(
            f"port {spec.port} is taken by a process make did not start (Debian's own"
            " prometheus service? `systemctl stop prometheus`); it would not scrape this stack"
        )
    pid = start(spec)
    wait_for_port(spec.port, spec.name, timeout=30, pid=pid)
    return True
