"""Kafka, MariaDB and Redis on loopback, installed and started by the project itself.

A server already listening on its port is used as it is. Otherwise MariaDB and
Redis come from Debian's packages (installed on first use) and Kafka from Maven
Central (``ops/kafka/pom.xml``), and each is started without systemd.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ops.processes import RUN_DIR, ProcessSpec, port_open, running_pid, start, wait_for_port

KAFKA_DIR = Path("ops/kafka")
KAFKA_LIBS = KAFKA_DIR / "libs"
KAFKA_PORT = 9092
MYSQL_PORT = 3306
REDIS_PORT = 6379


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo"]


def apt_install(*packages: str) -> None:
    """Install Debian packages, refreshing the index once per call."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*_sudo(), "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*_sudo(), "apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
    )


# --- Kafka -----------------------------------------------------------------


def kafka_spec() -> ProcessSpec:
    classpath = f"{KAFKA_LIBS.resolve()}/*"
    return ProcessSpec(
        name="kafka",
        argv=[
            "java",
            "-Xms512m",
            "-Xmx1g",
            "-XX:+UseG1GC",
            f"-Dlog4j.configuration=file:{(KAFKA_DIR / 'log4j.properties').resolve()}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(_kafka_properties()),
        ],
        marker="kafka.Kafka",
        port=KAFKA_PORT,
    )


def _kafka_properties() -> Path:
    """The repo's server.properties with log.dirs pointed under .run/."""
    target = RUN_DIR / "kafka" / "server.properties"
    target.parent.mkdir(parents=True, exist_ok=True)
    base = (KAFKA_DIR / "server.properties").read_text()
    target.write_text(f"{base}\nlog.dirs={(RUN_DIR / 'kafka' / 'data').resolve()}\n")
    return target.resolve()


def ensure_kafka_libs() -> None:
    if any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        return
    subprocess.run(
        ["mvn", "-q", "-B", "-f", str(KAFKA_DIR / "pom.xml"), "dependency:copy-dependencies"],
        check=True,
    )


def ensure_kafka_storage() -> None:
    """Format the KRaft log directory once; a formatted one is kept as it is."""
    if (RUN_DIR / "kafka" / "data" / "meta.properties").exists():
        return
    props = _kafka_properties()
    subprocess.run(
        [
            "java",
            f"-Dlog4j.configuration=file:{(KAFKA_DIR / 'log4j.properties').resolve()}",
            "-cp",
            f"{KAFKA_LIBS.resolve()}/*",
            "kafka.tools.StorageTool",
            "format",
            "--ignore-formatted",
            "-t",
            # KRaft wants a base64url-encoded 16-byte UUID.
            base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="),
            "-c",
            str(props),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


# --- MariaDB ---------------------------------------------------------------


def mariadb_spec() -> ProcessSpec:
    return ProcessSpec(
        name="mariadb",
        argv=[
            "/usr/sbin/mariadbd",
            "--user=mysql",
            "--bind-address=127.0.0.1",
            f"--port={MYSQL_PORT}",
            "--innodb-flush-log-at-trx-commit=2",
            "--max-connections=500",
        ],
        marker="mariadbd",
        port=MYSQL_PORT,
    )


def ensure_mariadb_installed() -> None:
    if not Path("/usr/sbin/mariadbd").exists():
        apt_install("mariadb-server", "mariadb-client")
    if not Path("/var/lib/mysql/mysql").exists():
        subprocess.run(
            [*_sudo(), "mariadb-install-db", "--user=mysql", "--datadir=/var/lib/mysql"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    Path("/run/mysqld").mkdir(exist_ok=True)
    shutil.chown("/run/mysqld", user="mysql")


def bootstrap_database(mysql_url: str) -> None:
    """Create the database and the app user through root's local socket, idempotently.

    The user may create databases named after the app's (``flashsale%``): tests
    use a fresh database each.
    """
    url = urlsplit(mysql_url)
    user, password = unquote(url.username or ""), unquote(url.password or "")
    database = url.path.lstrip("/")
    sql = (
        f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4;"
        f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';"
        f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{password}';"
        f"GRANT ALL PRIVILEGES ON `{database}%`.* TO '{user}'@'127.0.0.1';"
        f"GRANT ALL PRIVILEGES ON `{database}%`.* TO '{user}'@'localhost';"
        "FLUSH PRIVILEGES;"
    )
    subprocess.run([*_sudo(), "mariadb", "-uroot", "-e", sql], check=True)


# --- Redis -----------------------------------------------------------------


def redis_spec() -> ProcessSpec:
    data = (RUN_DIR / "redis").resolve()
    data.mkdir(parents=True, exist_ok=True)
    return ProcessSpec(
        name="redis",
        argv=[
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(REDIS_PORT),
            "--dir",
            str(data),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        marker="redis-server",
        port=REDIS_PORT,
    )


def ensure_redis_installed() -> None:
    if shutil.which("redis-server") is None:
        apt_install("redis-server")


def ensure_server(spec: ProcessSpec, install: object, timeout: float) -> bool:
    """Start ``spec`` unless something already listens on its port; True if started."""
    assert spec.port is not None
    if running_pid(spec.name, spec.marker) is not None or port_open(spec.port):
        return False
    if callable(install):
        install()
    pid = start(spec)
    wait_for_port(spec.port, spec.name, timeout, pid)
    return True
