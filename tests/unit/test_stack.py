"""The stack manager's own logic: pid files, markers, server specs, bootstrap SQL.

Nothing here touches the shared servers: processes are ``sleep`` commands and
the run directory is a temporary one.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops import processes, services, stack
from ops.processes import ProcessSpec
from streams.settings import Settings


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(processes, "RUN_DIR", tmp_path)
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _sleeper(name: str = "sleeper") -> ProcessSpec:
    # The marker is an argument of the command, as the real specs' markers are.
    code = "import time, sys; time.sleep(60)"
    return ProcessSpec(name=name, argv=[sys.executable, "-c", code, f"mark-{name}"], marker=name)


def test_a_started_process_is_found_and_stopped(run_dir: Path) -> None:
    spec = _sleeper()
    pid = processes.start(spec)
    assert processes.pid_file("sleeper").read_text().strip() == str(pid)
    # Until the child has exec'd, /proc shows the parent's command line.
    deadline = time.monotonic() + 10
    while processes.running_pid("sleeper", spec.marker) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert processes.running_pid("sleeper", spec.marker) == pid
    assert processes.stop("sleeper", spec.marker, timeout=10) is True
    assert processes.running_pid("sleeper", spec.marker) is None
    assert not processes.pid_file("sleeper").exists()
    assert processes.stop("sleeper", spec.marker) is False


def test_a_reused_pid_is_not_taken_for_ours(run_dir: Path) -> None:
    # Our own pid is alive but does not carry the marker.
    processes.pid_file("api").write_text(f"{os.getpid()}\n")
    assert processes.running_pid("api", "no-such-marker-in-pytest") is None


def test_a_server_on_its_port_is_used_as_it_is(run_dir: Path, busy_port: int) -> None:
    spec = ProcessSpec("redis", ["false"], marker="redis-server", port=busy_port)

    def prepare() -> None:
        raise AssertionError("nothing is installed for a server that already answers")

    assert services.ensure_server(spec, prepare, timeout=1) is False
    assert not processes.pid_file("redis").exists()


def test_mariadb_reads_no_system_configuration() -> None:
    argv = list(services.mariadb_spec(port=3399, home=Path("/tmp/x")).argv)
    # mariadbd accepts --no-defaults only as its first option.
    assert argv[:2] == [services.MARIADBD, "--no-defaults"]
    assert "--datadir=/tmp/x/data" in argv
    assert "--port=3399" in argv
    assert "--bind-address=127.0.0.1" in argv


def test_a_long_socket_path_moves_to_the_temp_dir() -> None:
    deep = Path("/tmp") / ("d" * 120)
    assert len(str(services.mariadb_socket(deep))) <= services.MAX_SOCKET_PATH
    assert services.mariadb_socket(Path("/tmp/x")) == Path("/tmp/x/mysqld.sock")


def test_bootstrap_sql_quotes_what_it_is_given() -> None:
    sql = services.bootstrap_sql("o'neil", "pa\\ss'word", "flash`sale")
    assert "CREATE DATABASE IF NOT EXISTS `flash``sale`" in sql
    assert "'o\\'neil'@'127.0.0.1'" in sql
    assert "IDENTIFIED BY 'pa\\\\ss\\'word'" in sql
    assert "GRANT ALL PRIVILEGES ON `flash``sale%`.*" in sql


def test_every_worker_and_api_process_has_its_own_name_port_and_marker() -> None:
    settings = Settings.from_env({}, workers=3, api_processes=2, api_metrics_port=8280)
    specs = stack.app_specs(settings)
    names = ["worker-1", "worker-2", "worker-3", "saga-1", "api", "api-2"]
    assert [s.name for s in specs] == names
    assert [s.port for s in specs] == [6066, 6067, 6068, 6166, 8280, 8281]
    assert len({s.marker for s in specs}) == 6
    roles = [dict(s.env or {}).get("FLASHSALE_WORKER_ROLE") for s in specs[:4]]
    assert roles == ["stock", "stock", "stock", "saga"]


def test_an_api_processs_marker_matches_its_command_line_only(run_dir: Path) -> None:
    settings = Settings.from_env({}, api_processes=12)
    first, twelfth = stack.api_spec(settings, 1), stack.api_spec(settings, 12)
    assert list(first.argv)[1:] == ["--process", "1"]
    # As /proc shows a command line: every argument followed by NUL, read as a space.
    cmdline = "".join(f"{arg} " for arg in twelfth.argv)
    assert twelfth.marker in cmdline
    assert first.marker not in cmdline


def test_api_processes_are_named_api_then_api_n() -> None:
    assert [stack.api_name(n) for n in (1, 2, 3)] == ["api", "api-2", "api-3"]
    assert all(stack.is_api(stack.api_name(n)) for n in (1, 2, 10))
    assert not stack.is_api("apiary") and not stack.is_api("worker-1")


def test_workers_of_an_earlier_larger_stack_are_still_stopped(run_dir: Path) -> None:
    for name in ("worker-5", "worker-x", "api-4", "api-y"):
        (run_dir / f"{name}.pid").write_text("1\n")
    names = list(stack.known_specs(Settings.from_env({}, workers=1, api_processes=2)))
    # The API stops first: nothing is acknowledged while the workers stop.
    assert names == [
        "api-4",
        "api-2",
        "api",
        "saga-1",
        "worker-1",
        "worker-5",
        "prometheus",
        *stack.SERVERS,
    ]


def test_prometheus_scrapes_each_api_process_on_its_own_port() -> None:
    settings = Settings.from_env({}, api_processes=3)
    api = [t for t in stack.scrape_targets(settings) if t.job == stack.API_JOB]
    assert [(t.name, t.port) for t in api] == [("api", 8180), ("api-2", 8181), ("api-3", 8182)]
