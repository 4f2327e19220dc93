"""Bring the stack up, down, or up in the foreground: ``python -m ops.stack up|down|run|services``.

``services`` starts only Kafka, MariaDB and Redis (what the tests need), applies
the schema and creates the topics. ``up`` adds the Faust workers and the API.
Every command is idempotent: it starts only what is not running.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ops import processes, services
from ops.processes import ProcessSpec
from streams.settings import Settings

VENV_BIN = Path(sys.executable).parent
INFRA = ("kafka", "mariadb", "redis")


def worker_spec(settings: Settings, number: int) -> ProcessSpec:
    datadir = processes.RUN_DIR / f"worker-{number}.data"
    return ProcessSpec(
        name=f"worker-{number}",
        argv=[
            str(VENV_BIN / "faust"),
            "-A",
            "streams.app",
            "--datadir",
            str(datadir),
            "worker",
            "-l",
            "info",
            "--web-host",
            "127.0.0.1",
            "--web-port",
            str(settings.worker_web_port(number)),
        ],
        marker=f"worker-{number}.data",
        port=settings.worker_web_port(number),
    )


def api_spec(settings: Settings) -> ProcessSpec:
    return ProcessSpec(
        name="api",
        argv=[str(VENV_BIN / "flashsale-api")],
        marker="flashsale-api",
        port=settings.api_port,
    )


def app_specs(settings: Settings) -> list[ProcessSpec]:
    workers = [worker_spec(settings, n) for n in range(1, settings.workers + 1)]
    return [*workers, api_spec(settings)]


def bring_up_services(settings: Settings) -> list[str]:
    """Kafka, MariaDB and Redis, the schema and the topics; the names it started."""
    started = []
    services.ensure_kafka_libs()
    services.ensure_kafka_storage()
    if services.ensure_server(services.kafka_spec(), None, timeout=90):
        started.append("kafka")
    if services.ensure_server(
        services.mariadb_spec(), services.ensure_mariadb_installed, timeout=60
    ):
        started.append("mariadb")
        services.bootstrap_database(settings.mysql_url)
    if services.ensure_server(services.redis_spec(), services.ensure_redis_installed, timeout=30):
        started.append("redis")
    _prepare_data(settings)
    return started


def _prepare_data(settings: Settings) -> None:
    # Imported here: these need the venv's packages, the rest of this module does not.
    import asyncio

    from storage.migrations import apply_migrations
    from streams.admin import ensure_topics

    try:
        apply_migrations(settings.mysql_url)
    except Exception:
        # A MariaDB we did not start may still lack the app's database and user.
        services.bootstrap_database(settings.mysql_url)
        apply_migrations(settings.mysql_url)
    asyncio.run(ensure_topics(settings, wait_seconds=60))


def bring_up_app(settings: Settings) -> list[str]:
    started = []
    for spec in app_specs(settings):
        if processes.running_pid(spec.name, spec.marker) is not None:
            continue
        pid = processes.start(spec)
        assert spec.port is not None
        processes.wait_for_port(spec.port, spec.name, timeout=90, pid=pid)
        started.append(spec.name)
    return started


def up(settings: Settings, with_app: bool = True) -> list[str]:
    began = time.monotonic()
    started = bring_up_services(settings)
    if with_app:
        started += bring_up_app(settings)
    elapsed = time.monotonic() - began
    print(f"stack up in {elapsed:.1f}s (started: {', '.join(started) or 'nothing, all running'})")
    return started


def down(settings: Settings, names: list[str] | None = None) -> None:
    """Stop what ``make up`` started, the app first, the servers last."""
    specs = {s.name: s for s in app_specs(settings)}
    specs.update({"kafka": services.kafka_spec(), "mariadb": services.mariadb_spec()})
    specs["redis"] = services.redis_spec()
    for stale in processes.RUN_DIR.glob("worker-*.pid"):
        name = stale.stem
        specs.setdefault(name, worker_spec(settings, int(name.split("-")[1])))
    order = [n for n in specs if n not in INFRA] + list(INFRA)
    for name in order:
        if names is None or name in names:
            if processes.stop(name, specs[name].marker):
                print(f"stopped {name}")


def run(settings: Settings) -> None:
    """``up`` in the foreground; Ctrl-C stops what this run started."""
    started = up(settings)
    print(f"API:     http://127.0.0.1:{settings.api_port}/  (readyz, metrics, openapi.yaml)")
    for n in range(1, settings.workers + 1):
        print(f"worker-{n}: http://127.0.0.1:{settings.worker_web_port(n)}/")
    print("logs in .run/*.log; Ctrl-C stops what this run started")
    stopping = False

    def _stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while not stopping:
        time.sleep(0.5)
    down(settings, names=started)


COMMANDS: dict[str, Callable[[Settings], object]] = {
    "up": up,
    "down": down,
    "run": run,
    "services": lambda s: up(s, with_app=False),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    COMMANDS[args.command](Settings.from_env())


if __name__ == "__main__":
    main()
