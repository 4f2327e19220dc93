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
from urllib.parse import unquote, urlsplit

from ops import brokers, monitoring, processes, readiness, services
from ops.monitoring import Target
from ops.processes import ProcessSpec
from ops.stack_env import stack_env_file, write_stack_env
from ops.worker_command import worker_argv
from streams.settings import Settings, SettingsError

VENV_BIN = Path(sys.executable).parent
SERVERS = ("kafka", "mariadb", "redis")
SAGA_NAME = "saga-1"
READY_TIMEOUT_SECONDS = 120.0


def worker_spec(settings: Settings, number: int) -> ProcessSpec:
    """Stock worker N: it decides for its share of the partitions."""
    return _faust_spec(f"worker-{number}", "stock", settings.worker_web_port(number))


def saga_spec(settings: Settings) -> ProcessSpec:
    """The saga worker: payments, MySQL rows, Redis order status, expiry proposals."""
    return _faust_spec(SAGA_NAME, "saga", settings.saga_web_port())


def _faust_spec(name: str, role: str, port: int) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=worker_argv(processes.RUN_DIR / f"{name}.data", port, role=role),
        marker=f"{name}.data",
        env={"FLASHSALE_WORKER_ID": name, "FLASHSALE_WORKER_ROLE": role},
        port=port,
    )


def api_name(number: int) -> str:
    """API process N's name (pid file, log, Prometheus label): ``api``, ``api-2``, ..."""
    return "api" if number == 1 else f"api-{number}"


def api_spec(settings: Settings, number: int = 1) -> ProcessSpec:
    """API process N: it shares the API port with the others and has a port of its own
    (``spec.port``, what make waits for and Prometheus scrapes)."""
    return ProcessSpec(
        name=api_name(number),
        argv=[str(VENV_BIN / "flashsale-api"), "--process", str(number)],
        # /proc ends every argument with NUL, read as a space: the trailing space
        # keeps process 1's marker from matching process 12's command line.
        marker=f"flashsale-api --process {number} ",
        # The settings make up resolved (dev defaults included), whatever the shell has.
        env=settings.to_env(),
        port=settings.api_own_port(number),
    )


def api_specs(settings: Settings) -> list[ProcessSpec]:
    return [api_spec(settings, n) for n in range(1, settings.api_processes + 1)]


def api_urls(settings: Settings) -> dict[str, str]:
    """Each API process's own address, by name."""
    return {spec.name: f"http://127.0.0.1:{spec.port}" for spec in api_specs(settings)}


def app_specs(settings: Settings) -> list[ProcessSpec]:
    workers = [worker_spec(settings, n) for n in range(1, settings.workers + 1)]
    return [*workers, saga_spec(settings), *api_specs(settings)]


def is_api(name: str) -> bool:
    return name == "api" or name.startswith("api-")


# Prometheus's job of each kind of process: a worker by its role, and the API.
SCRAPE_JOBS = {"stock": "flashsale-worker", "saga": "flashsale-saga"}
API_JOB = "flashsale-api"


def scrape_targets(settings: Settings) -> list[Target]:
    """What Prometheus scrapes: every process ``make up`` starts, by kind (each API
    process on its own port: the API port reaches whichever process the kernel picks)."""
    targets = []
    for spec in app_specs(settings):
        assert spec.port is not None
        role = (spec.env or {}).get("FLASHSALE_WORKER_ROLE", "")
        job = API_JOB if is_api(spec.name) else SCRAPE_JOBS[role]
        targets.append(Target(job, spec.name, spec.port))
    return targets


def bring_up_services(settings: Settings) -> list[str]:
    """Kafka (one broker or a cluster), MariaDB and Redis, the schema and the topics; the
    names it started. Prometheus is installed here too (its ``promtool`` checks the rules
    in the tests)."""
    monitoring.ensure_installed()
    started = brokers.ensure_brokers(settings)
    if services.ensure_server(services.mariadb_spec(), services.prepare_mariadb, timeout=60):
        started.append("mariadb")
        _bootstrap_database(settings)
    if services.ensure_server(services.redis_spec(), services.prepare_redis, timeout=30):
        started.append("redis")
    _prepare_data(settings)
    return started


def _bootstrap_database(settings: Settings) -> None:
    url = urlsplit(settings.mysql_url)
    socket = services.mariadb_socket()
    mariadb = services.mariadb_spec()
    # Our own server's admin is this OS user on our socket; any other is tried as root.
    ours = processes.running_pid(mariadb.name, mariadb.marker) is not None and socket.exists()
    services.bootstrap_database(
        unquote(url.username or ""),
        unquote(url.password or ""),
        url.path.lstrip("/"),
        socket if ours else None,
    )


def _prepare_data(settings: Settings) -> None:
    # Imported here: these need the venv's packages, the rest of this module does not.
    import asyncio

    import pymysql

    from storage.migrations import apply_migrations
    from streams.admin import ensure_topics

    try:
        apply_migrations(settings.mysql_url)
    except pymysql.MySQLError:
        # A server we did not just start may still lack the app's database and user.
        _bootstrap_database(settings)
        apply_migrations(settings.mysql_url)
    asyncio.run(ensure_topics(settings, wait_seconds=60))


def bring_up_app(settings: Settings) -> list[str]:
    """Start the workers and the API processes that are not running; the names started."""
    return start_missing(settings, app_specs(settings))


def start_missing(settings: Settings, specs: list[ProcessSpec]) -> list[str]:
    started = []
    for spec in specs:
        if processes.running_pid(spec.name, spec.marker) is not None:
            continue
        assert spec.port is not None
        # Else the new process would die on bind while the port looked ready.
        taken = [spec.port]
        if is_api(spec.name) and not _api_running(settings):
            # Shared by our API processes (SO_REUSEPORT), anyone else's otherwise.
            taken.append(settings.api_port)
        for port in taken:
            if processes.port_open(port):
                raise services.StackError(
                    f"{spec.name}: port {port} is taken by a process make did not start"
                )
        pid = processes.start(spec)
        processes.wait_for_port(spec.port, spec.name, timeout=_start_timeout(spec.name), pid=pid)
        started.append(spec.name)
    return started


def _start_timeout(name: str) -> float:
    # A broker loads every partition's log before it listens: after a day of test runs
    # (each leaves its topics) that took 75-110 s here.
    return 300.0 if name.startswith("kafka") else 90.0


def _api_running(settings: Settings) -> bool:
    specs = known_api_specs(settings)
    return any(processes.running_pid(s.name, s.marker) is not None for s in specs)


def known_api_specs(settings: Settings) -> list[ProcessSpec]:
    """The API processes, with those of an earlier, larger FLASHSALE_API_PROCESSES
    that still have a pid file (still ours to stop), the last one first."""
    numbers = set(range(1, settings.api_processes + 1))
    for stale in processes.RUN_DIR.glob("api-*.pid"):
        number = stale.stem.removeprefix("api-")
        if number.isdigit():
            numbers.add(int(number))
    return [api_spec(settings, n) for n in sorted(numbers, reverse=True)]


def up(settings: Settings, with_app: bool = True) -> list[str]:
    began = time.monotonic()
    started = bring_up_services(settings)
    if with_app:
        # For the operator tools run from another shell (flashsale-admin).
        write_stack_env(settings, processes.RUN_DIR)
        started += bring_up_app(settings)
        print(readiness.wait_until_ready(settings, READY_TIMEOUT_SECONDS, apis=api_urls(settings)))
        started += observe(settings)
    elapsed = time.monotonic() - began
    print(f"stack up in {elapsed:.1f}s (started: {', '.join(started) or 'nothing, all running'})")
    return started


def observe(settings: Settings) -> list[str]:
    """Prometheus, scraping the processes of this stack (reloaded if they changed)."""
    started = monitoring.ensure_prometheus(scrape_targets(settings))
    return ["prometheus"] if started else []


def known_specs(settings: Settings) -> dict[str, ProcessSpec]:
    """Every process ``make up`` may have started, the app first, the servers last."""
    # The API first: nothing is acknowledged once the workers begin to stop.
    specs = {s.name: s for s in known_api_specs(settings)}
    specs.update((s.name, s) for s in reversed(app_specs(settings)) if not is_api(s.name))
    # Workers of an earlier, larger FLASHSALE_WORKERS are still ours to stop.
    for stale in sorted(processes.RUN_DIR.glob("worker-*.pid")):
        number = stale.stem.removeprefix("worker-")
        if number.isdigit():
            specs.setdefault(stale.stem, worker_spec(settings, int(number)))
    specs["prometheus"] = monitoring.stack_spec()
    # Either Kafka shape may be running, whatever FLASHSALE_KAFKA_BROKERS says now.
    for spec in [services.kafka_spec(), *brokers.stale_node_specs(), *_broker_specs(settings)]:
        specs[spec.name] = spec
    specs["mariadb"] = services.mariadb_spec()
    specs["redis"] = services.redis_spec()
    return specs


def _broker_specs(settings: Settings) -> list[ProcessSpec]:
    try:
        return brokers.broker_specs(settings)
    except services.StackError:
        return []  # a bootstrap make up cannot run: only what runs is stopped


def is_server(name: str) -> bool:
    """Kafka (one broker or a cluster's node), MariaDB or Redis."""
    return name in SERVERS or name.startswith("kafka-")


def running_names(settings: Settings) -> list[str]:
    """The processes started by this project that are alive now."""
    specs = known_specs(settings)
    return [n for n, s in specs.items() if processes.running_pid(n, s.marker) is not None]


def down(settings: Settings, names: list[str] | None = None) -> None:
    """Stop what ``make up`` started (or only ``names``), the app first, the servers last."""
    chosen = [s for n, s in known_specs(settings).items() if names is None or n in names]
    nodes = [spec for spec in chosen if spec.name.startswith("kafka-")]
    for spec in chosen:
        if spec in nodes:
            if spec is nodes[0]:
                # A cluster's nodes all at once: the last node standing alone has no
                # quorum, and its clean shutdown would wait for one.
                for name in processes.stop_together([(n.name, n.marker) for n in nodes]):
                    print(f"stopped {name}")
        elif processes.stop(spec.name, spec.marker):
            print(f"stopped {spec.name}")
    app = {spec.name for spec in app_specs(settings)}
    if not app & set(running_names(settings)):
        stack_env_file(processes.RUN_DIR).unlink(missing_ok=True)


def run(settings: Settings) -> None:
    """``up`` in the foreground; Ctrl-C stops what this run started."""
    before = set(running_names(settings))
    try:
        started = up(settings)
    except BaseException:
        # Interrupted or failed half-way: stop what this run had started so far.
        down(settings, names=[n for n in running_names(settings) if n not in before])
        raise
    print(f"API:     http://127.0.0.1:{settings.api_port}/  (readyz, metrics, openapi.yaml)")
    for n in range(1, settings.api_processes + 1):
        print(f"{api_name(n)}: http://127.0.0.1:{settings.api_own_port(n)}/  (its own metrics)")
    for n in range(1, settings.workers + 1):
        print(f"worker-{n}: http://127.0.0.1:{settings.worker_web_port(n)}/")
    print(f"{SAGA_NAME}:  http://127.0.0.1:{settings.saga_web_port()}/")
    print(f"Prometheus: http://127.0.0.1:{monitoring.PROMETHEUS_PORT}/  (docs/metrics.md)")
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
    "observe": observe,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.stack", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command](Settings.from_env())
    except (services.StackError, SettingsError, RuntimeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
