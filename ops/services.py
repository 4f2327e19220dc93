"""Kafka, MariaDB and Redis on loopback, installed and started by the project itself.

A server already listening on its port is used as it is, and ``make down`` leaves
it alone. Otherwise MariaDB and Redis come from Debian's packages (installed on
first use) and Kafka from Maven Central (``ops/kafka/pom.xml``). Each runs as the
current user, without systemd, with its data under ``.run/``: nothing depends on
``/var/lib/mysql``, ``/run/mysqld`` or a system-wide configuration file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from ops.processes import RUN_DIR, ProcessSpec, port_open, running_pid, start, wait_for_port

KAFKA_DIR = Path("ops/kafka")
KAFKA_LIBS = KAFKA_DIR / "libs"
# Written after a complete download; holds the pom's digest, so a version bump refetches.
KAFKA_STAMP = KAFKA_LIBS / ".complete"
KAFKA_PORT = 9092
MYSQL_PORT = 3306
REDIS_PORT = 6379
MARIADBD = "/usr/sbin/mariadbd"
# A unix socket path must fit in sockaddr_un (108 bytes with the terminating NUL).
MAX_SOCKET_PATH = 100


class StackError(RuntimeError):
    """Something the operator has to fix; reported without a traceback."""


def _os_user() -> str:
    # The effective user, not $USER: under sudo -E they differ, and files follow the former.
    return pwd.getpwuid(os.geteuid()).pw_name


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def apt_install(*packages: str) -> None:
    """Install Debian packages, refreshing the index once per call."""
    if os.geteuid() != 0 and shutil.which("sudo") is None:
        raise StackError(f"installing {' '.join(packages)} needs root or sudo; install them")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {' '.join(packages)} from Debian", flush=True)
    try:
        subprocess.run([*_sudo(), "apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            [*_sudo(), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
            check=True,
            env=env,
        )
    except subprocess.CalledProcessError as exc:
        raise StackError(f"apt-get could not install {' '.join(packages)}: {exc}") from exc


def ensure_command(command: str, package: str) -> None:
    if shutil.which(command) is None:
        apt_install(package)


def ensure_server(spec: ProcessSpec, prepare: Callable[[], None] | None, timeout: float) -> bool:
    """Start ``spec`` unless something already listens on its port; True if started."""
    assert spec.port is not None
    if running_pid(spec.name, spec.marker) is not None or port_open(spec.port):
        return False
    if prepare is not None:
        prepare()
    # Installing a package may have started the distribution's own server.
    if port_open(spec.port):
        return False
    pid = start(spec)
    wait_for_port(spec.port, spec.name, timeout, pid)
    return True


# --- Kafka -----------------------------------------------------------------


def log4j_option() -> str:
    return f"-Dlog4j.configuration=file:{(KAFKA_DIR / 'log4j.properties').resolve()}"


def kafka_spec() -> ProcessSpec:
    return ProcessSpec(
        name="kafka",
        argv=[
            "java",
            "-Xms512m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            log4j_option(),
            "-cp",
            f"{KAFKA_LIBS.resolve()}/*",
            "kafka.Kafka",
            str(_kafka_properties_path()),
        ],
        marker="kafka.Kafka",
        port=KAFKA_PORT,
    )


def _kafka_properties_path() -> Path:
    return (RUN_DIR / "kafka" / "server.properties").resolve()


def _write_kafka_properties() -> Path:
    """The repo's server.properties with log.dirs pointed under .run/."""
    target = _kafka_properties_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    base = (KAFKA_DIR / "server.properties").read_text()
    target.write_text(f"{base}\nlog.dirs={(RUN_DIR / 'kafka' / 'data').resolve()}\n")
    return target


def prepare_kafka_libs() -> None:
    """Java and Kafka's jars, which the single broker and a cluster's nodes share."""
    ensure_command("java", "default-jre-headless")
    ensure_kafka_libs()


def prepare_kafka() -> None:
    prepare_kafka_libs()
    _write_kafka_properties()
    ensure_kafka_storage()


def _pom_digest() -> str:
    return hashlib.sha256((KAFKA_DIR / "pom.xml").read_bytes()).hexdigest()


def ensure_kafka_libs() -> None:
    """Gather Kafka's jars once per pom; an interrupted download is redone next time."""
    if KAFKA_STAMP.exists() and KAFKA_STAMP.read_text().strip() == _pom_digest():
        return
    ensure_command("mvn", "maven")
    # Jars of another Kafka version must not stay on the classpath.
    shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
    print("fetching Kafka from Maven Central (ops/kafka/pom.xml)", flush=True)
    argv = ["mvn", "-q", "-B", "-f", str(KAFKA_DIR / "pom.xml"), "dependency:copy-dependencies"]
    if subprocess.run(argv, check=False).returncode != 0:
        shutil.rmtree(KAFKA_LIBS, ignore_errors=True)
        raise StackError(
            "mvn could not fetch Kafka's jars (output above). It needs Maven Central, "
            "directly or through a mirror/proxy in ~/.m2/settings.xml; then run make again."
        )
    KAFKA_STAMP.write_text(_pom_digest() + "\n")


def new_cluster_id() -> str:
    """A base64url-encoded 16-byte UUID, as KRaft wants, that does not start with "-":
    the storage tool would take such an id for an option (and fail, one time in 32)."""
    while True:
        ident = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not ident.startswith("-"):
            return ident


def ensure_kafka_storage() -> None:
    """Format the KRaft log directory once; a formatted one is kept as it is."""
    if (RUN_DIR / "kafka" / "data" / "meta.properties").exists():
        return
    cluster_id = new_cluster_id()
    argv = ["java", log4j_option(), "-cp", f"{KAFKA_LIBS.resolve()}/*", "kafka.tools.StorageTool"]
    argv += ["format", "--ignore-formatted", "-t", cluster_id, "-c", str(_write_kafka_properties())]
    try:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    except subprocess.CalledProcessError as exc:
        raise StackError(f"formatting Kafka's storage under {RUN_DIR}/kafka failed") from exc


# --- MariaDB ---------------------------------------------------------------


def mariadb_home(home: Path | None = None) -> Path:
    return (home or RUN_DIR / "mariadb").resolve()


def mariadb_socket(home: Path | None = None) -> Path:
    socket = mariadb_home(home) / "mysqld.sock"
    if len(str(socket)) <= MAX_SOCKET_PATH:
        return socket
    digest = hashlib.sha256(str(socket).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"flashsale-{digest}.sock"


def mariadb_spec(port: int = MYSQL_PORT, home: Path | None = None) -> ProcessSpec:
    data = mariadb_home(home) / "data"
    return ProcessSpec(
        name="mariadb",
        argv=[
            MARIADBD,
            # Only these options: /etc/mysql may belong to a system install.
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={mariadb_socket(home)}",
            f"--pid-file={mariadb_home(home) / 'mariadbd.pid'}",
            f"--user={_os_user()}",
            "--bind-address=127.0.0.1",
            f"--port={port}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=500",
        ],
        marker="mariadbd",
        port=port,
    )


def prepare_mariadb(home: Path | None = None) -> None:
    """Install MariaDB if needed and create its data directory (owned by this user)."""
    if not Path(MARIADBD).exists():
        # The -core packages hold mariadbd, mariadb-install-db and the client, and
        # none of the service scripts that would start a system-wide server.
        apt_install("mariadb-server-core", "mariadb-client-core")
    data = mariadb_home(home) / "data"
    if (data / "mysql").is_dir():
        return
    shutil.rmtree(data, ignore_errors=True)  # left over from an interrupted first start
    data.mkdir(parents=True)
    argv = ["mariadb-install-db", "--no-defaults", f"--datadir={data}"]
    # The current OS user may log in as itself (and root as root) over the socket.
    argv += [f"--user={_os_user()}", "--auth-root-authentication-method=socket"]
    argv += ["--skip-test-db"]
    try:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(data, ignore_errors=True)
        raise StackError(f"mariadb-install-db failed: {exc.stderr.decode()[-2000:]}") from exc


def _sql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def bootstrap_sql(user: str, password: str, database: str) -> str:
    """The app's database and user; the user may also create ``<database>*`` (tests do)."""
    db = database.replace("`", "``")
    sql = [f"CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4;"]
    for host in ("127.0.0.1", "localhost"):
        account = f"{_sql_literal(user)}@'{host}'"
        sql.append(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {_sql_literal(password)};")
        sql.append(f"ALTER USER {account} IDENTIFIED BY {_sql_literal(password)};")
        sql.append(f"GRANT ALL PRIVILEGES ON `{db}%`.* TO {account};")
    return "\n".join(sql)


def bootstrap_database(user: str, password: str, database: str, socket: Path | None) -> None:
    """Run ``bootstrap_sql`` as the server's administrator over its unix socket.

    ``socket`` is that of a MariaDB started here (its admin is the current OS
    user); None means a server started elsewhere, tried as root with sudo.
    """
    sql = bootstrap_sql(user, password, database)
    if socket is not None:
        argv = ["mariadb", "--no-defaults", f"--socket={socket}", f"-u{_os_user()}"]
    else:
        argv = [*_sudo(), "mariadb", "-uroot"]
    try:
        subprocess.run([*argv, "-e", sql], check=True, capture_output=True, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        detail = detail.decode(errors="replace") if isinstance(detail, bytes) else detail
        raise StackError(
            f"could not create database {database!r} and user {user!r} ({detail.strip()}).\n"
            "If that MariaDB was not started by make, run this as its administrator, "
            f"or point FLASHSALE_MYSQL_URL at a database you may use:\n{sql}"
        ) from exc


# --- Redis -----------------------------------------------------------------


def redis_spec(port: int = REDIS_PORT, home: Path | None = None) -> ProcessSpec:
    data = (home or RUN_DIR / "redis").resolve()
    return ProcessSpec(
        name="redis",
        argv=[
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        marker="redis-server",
        port=port,
    )


def prepare_redis(home: Path | None = None) -> None:
    ensure_command("redis-server", "redis-server")
    (home or RUN_DIR / "redis").mkdir(parents=True, exist_ok=True)
