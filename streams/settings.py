"""The one settings object every process is built from.

An explicit argument beats the environment, which beats the default:
``Settings.from_env(partitions=4)`` reads ``FLASHSALE_*`` variables and lets the
caller override any field. Tests build ``Settings(...)`` directly and never touch
``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DEV_JWT_SECRET = "dev-only-secret-never-use-in-production-0123456789"
MIN_JWT_SECRET_LENGTH = 32
# The stock role decides; the saga role does everything that follows a decision; the
# analytics role (not started by make up) keeps sales per minute in windowed tables.
WORKER_ROLES = ("stock", "saga", "analytics")
# Broker N of a local cluster listens on 9092 + 2 (N - 1), its controller on the next port.
FIRST_BROKER = "127.0.0.1:9092"
BROKER_PORT_STEP = 2
# Beyond three replicas a flash sale gains no safety, only latency.
MAX_DEFAULT_REPLICATION = 3


class SettingsError(ValueError):
    """A setting is missing or malformed; the process must not start."""


def _meta(env: str, doc: str) -> dict[str, str]:
    return {"env": env, "doc": doc}


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap: str = field(
        default=FIRST_BROKER,
        metadata=_meta(
            "FLASHSALE_KAFKA_BOOTSTRAP",
            "Kafka bootstrap servers, host:port[,...]; unset with several brokers:"
            " every broker make up runs",
        ),
    )
    kafka_brokers: int = field(
        default=1,
        metadata=_meta(
            "FLASHSALE_KAFKA_BROKERS",
            "Kafka brokers make up runs: 1, or a KRaft cluster of combined"
            " broker+controller nodes on loopback",
        ),
    )
    replication_factor: int = field(
        default=1,
        metadata=_meta(
            "FLASHSALE_REPLICATION_FACTOR",
            "replicas of every topic; unset: as many as brokers, at most 3;"
            " min.insync.replicas is one less (at least 1)",
        ),
    )
    mysql_url: str = field(
        default="mysql://flashsale:flashsale@127.0.0.1:3306/flashsale",
        metadata=_meta("FLASHSALE_MYSQL_URL", "MySQL/MariaDB URL of the flashsale database"),
    )
    redis_url: str = field(
        default="redis://127.0.0.1:6379/0",
        metadata=_meta("FLASHSALE_REDIS_URL", "Redis URL for the fast read projections"),
    )
    api_port: int = field(
        default=8080, metadata=_meta("FLASHSALE_API_PORT", "TCP port of the HTTP API")
    )
    api_processes: int = field(
        default=2,
        metadata=_meta(
            "FLASHSALE_API_PROCESSES",
            "API processes make up runs, all on the API port (SO_REUSEPORT)",
        ),
    )
    api_metrics_port: int = field(
        default=8180,
        metadata=_meta(
            "FLASHSALE_API_METRICS_PORT",
            "API process N's own port (/metrics, /healthz, /readyz; what Prometheus"
            " scrapes) is this + N - 1",
        ),
    )
    api_process: int = field(
        default=0,
        metadata=_meta(
            "FLASHSALE_API_PROCESS",
            "which API process this is (1..N, make up sets it): it also listens on its"
            " own port; 0: the API port only",
        ),
    )
    workers: int = field(
        default=1,
        metadata=_meta("FLASHSALE_WORKERS", "stock workers make up starts (plus one saga worker)"),
    )
    partitions: int = field(
        default=8,
        metadata=_meta("FLASHSALE_PARTITIONS", "partitions of every topic keyed by product"),
    )
    jwt_secret: str = field(
        default="",
        metadata=_meta("FLASHSALE_JWT_SECRET", "HS256 signing secret; required outside dev"),
    )
    env: str = field(default="prod", metadata=_meta("FLASHSALE_ENV", "dev or prod"))
    admin_email: str = field(
        default="", metadata=_meta("FLASHSALE_ADMIN_EMAIL", "admin account created at start-up")
    )
    admin_password: str = field(
        default="", metadata=_meta("FLASHSALE_ADMIN_PASSWORD", "password of that admin account")
    )
    hold_seconds: int = field(
        default=300,
        metadata=_meta("FLASHSALE_HOLD_SECONDS", "an unpaid reservation expires after this"),
    )
    payment_failure_rate: float = field(
        default=0.0,
        metadata=_meta(
            "FLASHSALE_PAYMENT_FAILURE_RATE", "share of charges the simulated gateway declines"
        ),
    )
    payment_latency_ms: int = field(
        default=0,
        metadata=_meta("FLASHSALE_PAYMENT_LATENCY_MS", "simulated payment gateway latency"),
    )
    rate_limit: int = field(
        default=20,
        metadata=_meta(
            "FLASHSALE_RATE_LIMIT", "order/pay/cancel requests per member per second; 0 = off"
        ),
    )
    auth_rate_limit: int = field(
        default=300,
        metadata=_meta(
            "FLASHSALE_AUTH_RATE_LIMIT",
            "logins (and, apart, sign-ups) per client address per minute; 0 = off",
        ),
    )
    app_id: str = field(
        default="flashsale",
        metadata=_meta(
            "FLASHSALE_APP_ID",
            "namespace of topics, consumer groups and Redis keys (tests use a fresh one)",
        ),
    )
    data_dir: str = field(
        default=".run",
        metadata=_meta("FLASHSALE_DATA_DIR", "where workers keep their local table stores"),
    )
    worker_role: str = field(
        default="stock",
        metadata=_meta(
            "FLASHSALE_WORKER_ROLE",
            "what a Faust worker runs: stock (the decisions), saga (payments, MySQL,"
            " Redis order status, expiry proposals) or analytics (sales per minute, not"
            " started by make up), each role its own consumer group",
        ),
    )
    worker_id: str = field(
        default="",
        metadata=_meta(
            "FLASHSALE_WORKER_ID",
            "a worker's stable name (worker-N): restarted after a crash, it takes"
            " its partitions back at once",
        ),
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), then ``overrides``."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = source.get(f.metadata["env"])
            if raw is not None and raw != "":
                values[f.name] = _parse(f.metadata["env"], f.type, raw)
        values.update(overrides)
        values = _with_derived_kafka_defaults(values)
        settings = cls(**values)
        if settings.env == "dev":
            settings = settings._with_dev_defaults()
        settings.validate()
        return settings

    def _with_dev_defaults(self) -> Settings:
        return dataclasses.replace(
            self,
            admin_email=self.admin_email or "admin@example.com",
            admin_password=self.admin_password or "admin-password",
        )

    def validate(self) -> None:
        if self.env not in ("dev", "prod"):
            raise SettingsError(f"FLASHSALE_ENV must be dev or prod, not {self.env!r}")
        counts = (self.partitions, self.workers, self.api_processes, self.kafka_brokers)
        if min(*counts, self.replication_factor) < 1:
            raise SettingsError(
                "FLASHSALE_PARTITIONS, FLASHSALE_WORKERS, FLASHSALE_API_PROCESSES,"
                " FLASHSALE_KAFKA_BROKERS and FLASHSALE_REPLICATION_FACTOR must be >= 1"
            )
        if self.api_process < 0:
            raise SettingsError("FLASHSALE_API_PROCESS must not be negative")
        own_ports = range(self.api_metrics_port, self.api_metrics_port + self.api_processes)
        if self.api_port in own_ports:
            raise SettingsError(
                f"FLASHSALE_API_PORT {self.api_port} is among the API processes' own ports"
                f" (FLASHSALE_API_METRICS_PORT {self.api_metrics_port} + N - 1)"
            )
        if self.worker_role not in WORKER_ROLES:
            raise SettingsError(
                f"FLASHSALE_WORKER_ROLE must be one of {', '.join(WORKER_ROLES)},"
                f" not {self.worker_role!r}"
            )
        if not 0.0 <= self.payment_failure_rate <= 1.0:
            raise SettingsError("FLASHSALE_PAYMENT_FAILURE_RATE must be within 0..1")
        if (
            min(self.hold_seconds, self.payment_latency_ms, self.rate_limit, self.auth_rate_limit)
            < 0
        ):
            raise SettingsError("durations and rates must not be negative")

    def signing_secret(self) -> str:
        """The JWT secret; refuses to run without a strong one outside dev."""
        if len(self.jwt_secret) >= MIN_JWT_SECRET_LENGTH:
            return self.jwt_secret
        if self.env == "dev":
            warnings.warn(
                "FLASHSALE_ENV=dev: signing tokens with the fixed, public dev secret",
                RuntimeWarning,
                stacklevel=2,
            )
            return DEV_JWT_SECRET
        raise SettingsError(
            f"FLASHSALE_JWT_SECRET must be set to at least {MIN_JWT_SECRET_LENGTH} characters"
        )

    def min_insync_replicas(self) -> int:
        """Replicas that must hold a write before acks=all succeeds: one less than the
        replication factor, so a write survives the loss of any one broker and writes
        go on while one broker is away."""
        return max(1, self.replication_factor - 1)

    def broker_addresses(self) -> list[str]:
        """The bootstrap servers, one host:port each."""
        return [part.strip() for part in self.kafka_bootstrap.split(",") if part.strip()]

    def worker_web_port(self, worker_number: int) -> int:
        """Worker N serves Faust's web interface on 6066 + N - 1."""
        return 6066 + worker_number - 1

    def api_own_port(self, process_number: int | None = None) -> int | None:
        """API process N's own port (``api_metrics_port`` + N - 1), this process's by
        default; None for an API process make up did not number."""
        number = self.api_process if process_number is None else process_number
        return self.api_metrics_port + number - 1 if number >= 1 else None

    def saga_web_port(self) -> int:
        """The saga worker serves Faust's web interface on 6166."""
        return 6166

    def consumer_group(self, role: str | None = None) -> str:
        """The consumer group (and Faust app id) of a worker role: the app id for the
        stock role, so the stock table's changelog keeps its name."""
        role = role or self.worker_role
        return self.app_id if role == "stock" else f"{self.app_id}-{role}"

    def to_env(self) -> dict[str, str]:
        """These settings as ``FLASHSALE_*`` variables, for a child process."""
        return {f.metadata["env"]: str(getattr(self, f.name)) for f in fields(self)}

    @staticmethod
    def env_names() -> list[str]:
        return [f.metadata["env"] for f in fields(Settings)]


def local_cluster_bootstrap(brokers: int) -> str:
    """Every broker of a local cluster of ``brokers`` nodes, as make up runs it."""
    host, port = FIRST_BROKER.rsplit(":", 1)
    return ",".join(f"{host}:{int(port) + BROKER_PORT_STEP * n}" for n in range(brokers))


def _with_derived_kafka_defaults(values: dict[str, Any]) -> dict[str, Any]:
    """Defaults that follow FLASHSALE_KAFKA_BROKERS when not given: the bootstrap lists
    every local broker, and the replication factor is the broker count (at most 3)."""
    brokers = values.get("kafka_brokers", 1)
    if not isinstance(brokers, int) or brokers < 1:
        return values  # validate() says what is wrong
    derived = {
        "kafka_bootstrap": local_cluster_bootstrap(brokers),
        "replication_factor": min(brokers, MAX_DEFAULT_REPLICATION),
    }
    return {**derived, **values}


def _parse(name: str, type_name: Any, raw: str) -> Any:
    try:
        if type_name in (int, "int"):
            return int(raw)
        if type_name in (float, "float"):
            return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name}: cannot read {raw!r} as {type_name}") from exc
    return raw
