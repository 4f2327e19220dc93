"""docker-compose.yml matches the settings object and the contract's ports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import monitoring, stack
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"kafka", "mariadb", "redis", "prometheus", "grafana", "api", "api-2", "worker", "saga"}
# What the app processes cannot run without (the JWT secret may be empty only in dev).
NEEDED = {
    "FLASHSALE_KAFKA_BOOTSTRAP",
    "FLASHSALE_MYSQL_URL",
    "FLASHSALE_REDIS_URL",
    "FLASHSALE_JWT_SECRET",
    "FLASHSALE_ENV",
    "FLASHSALE_PARTITIONS",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    service = compose["services"][name]
    assert isinstance(service, dict)
    return service


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the "NAME=value" form
        env = dict(item.split("=", 1) for item in env)
    return {name: str(value) for name, value in env.items()}


def test_the_stack_has_every_service(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) >= SERVICES


def test_every_flashsale_variable_is_a_setting() -> None:
    used = set(re.findall(r"\bFLASHSALE_[A-Z0-9_]+", COMPOSE.read_text()))
    assert used, "docker-compose.yml passes no FLASHSALE_* variable"
    assert used <= set(Settings.env_names())


@pytest.mark.parametrize("name", ["api", "api-2", "worker", "saga", "init"])
def test_app_processes_get_the_settings_they_need(compose: dict[str, Any], name: str) -> None:
    env = _env(_service(compose, name))
    assert set(env) >= NEEDED
    assert set(env) <= set(Settings.env_names())


def test_app_settings_point_at_the_compose_servers(compose: dict[str, Any]) -> None:
    env = _env(_service(compose, "api"))
    assert env["FLASHSALE_KAFKA_BOOTSTRAP"].endswith(":9092")
    assert env["FLASHSALE_MYSQL_URL"].startswith("mysql://flashsale:flashsale@")
    assert env["FLASHSALE_MYSQL_URL"].endswith(":3306/flashsale")
    assert env["FLASHSALE_REDIS_URL"].startswith("redis://")
    mariadb = _env(_service(compose, "mariadb"))
    assert (mariadb["MARIADB_USER"], mariadb["MARIADB_PASSWORD"]) == ("flashsale", "flashsale")
    assert mariadb["MARIADB_DATABASE"] == "flashsale"


def test_ports_follow_the_contract(compose: dict[str, Any]) -> None:
    assert _env(_service(compose, "api"))["FLASHSALE_API_PORT"] == "8080"
    for number, name in enumerate(("api", "api-2"), 1):
        assert _service(compose, name)["command"] == ["flashsale-api", "--process", str(number)]
        own = f"127.0.0.1:{Settings().api_own_port(number)}/readyz"
        assert own in _service(compose, name)["healthcheck"]["test"][-1]
    worker = [str(arg) for arg in _service(compose, "worker")["command"]]
    assert worker[worker.index("--web-port") + 1] == "6066"
    saga = [str(arg) for arg in _service(compose, "saga")["command"]]
    assert saga[saga.index("--web-port") + 1] == str(Settings().saga_web_port())
    assert _env(_service(compose, "saga"))["FLASHSALE_WORKER_ROLE"] == "saga"
    kafka = _env(_service(compose, "kafka"))
    assert "PLAINTEXT://127.0.0.1:9092" in kafka["KAFKA_ADVERTISED_LISTENERS"]


def test_the_broker_never_creates_topics(compose: dict[str, Any]) -> None:
    kafka = _env(_service(compose, "kafka"))
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "broker,controller" in kafka["KAFKA_PROCESS_ROLES"]
    init = " ".join(str(arg) for arg in _service(compose, "init")["command"])
    assert "flashsale-admin create-topics" in init
    assert "flashsale-admin migrate" in init


def test_the_app_starts_after_the_schema_and_topics(compose: dict[str, Any]) -> None:
    for name in ("api", "api-2", "worker", "saga"):
        depends = _service(compose, name)["depends_on"]
        assert depends["init"]["condition"] == "service_completed_successfully"


def test_the_app_images_are_built_from_the_repository(compose: dict[str, Any]) -> None:
    for name in ("api", "worker", "init"):
        assert _service(compose, name)["build"] == "."
    assert (ROOT / "Dockerfile").read_text().startswith("#")
    assert "FROM python:3.11-slim" in (ROOT / "Dockerfile").read_text()


def test_prometheus_scrapes_the_api_and_the_worker() -> None:
    config = yaml.safe_load((ROOT / "ops" / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    # Each API process on its own port: 8080 reaches whichever one the kernel picks.
    assert {"127.0.0.1:8180", "127.0.0.1:8181", "127.0.0.1:6066", "127.0.0.1:6166"} <= targets


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of a service's bind mounts."""
    pairs = (str(volume).split(":")[:2] for volume in service.get("volumes", []))
    return {inside: host for host, inside in pairs if host.startswith("./")}


def test_prometheus_has_make_ups_jobs_and_the_rules(compose: dict[str, Any]) -> None:
    config = yaml.safe_load((ROOT / "ops" / "prometheus.yml").read_text())
    mounts = _mounts(_service(compose, "prometheus"))
    assert [mounts[path] for path in config["rule_files"]] == ["./ops/prometheus/rules.yml"]
    generated = monitoring.scrape_config(stack.scrape_targets(Settings()))
    jobs = {job["job_name"]: job["static_configs"] for job in config["scrape_configs"]}
    assert jobs == {job["job_name"]: job["static_configs"] for job in generated["scrape_configs"]}


def test_grafana_provisions_the_dashboard_on_the_provisioned_prometheus(
    compose: dict[str, Any],
) -> None:
    mounts = _mounts(_service(compose, "grafana"))
    assert mounts["/etc/grafana/provisioning"] == "./ops/grafana/provisioning"
    provisioning = ROOT / "ops" / "grafana" / "provisioning"
    providers = yaml.safe_load((provisioning / "dashboards" / "flashsale.yml").read_text())
    (path,) = [provider["options"]["path"] for provider in providers["providers"]]
    assert mounts[path] == "./ops/grafana/dashboards"
    sources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    (source,) = sources["datasources"]
    dashboard = json.loads((ROOT / "ops" / "grafana" / "dashboards" / "flashsale.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for item in (panel, *panel["targets"]):
            assert item["datasource"] == {"type": "prometheus", "uid": source["uid"]}


CLUSTER = ROOT / "docker-compose.cluster.yml"
NODES = ("kafka", "kafka-2", "kafka-3")


@pytest.fixture(scope="module")
def cluster(compose: dict[str, Any]) -> dict[str, Any]:
    """docker-compose.yml with docker-compose.cluster.yml laid over it, as ``docker compose
    -f docker-compose.yml -f docker-compose.cluster.yml`` merges them (mappings key by key)."""
    over = yaml.safe_load(CLUSTER.read_text())
    services = {name: dict(service) for name, service in compose["services"].items()}
    for name, service in over["services"].items():
        merged = services.setdefault(name, {})
        for key, value in service.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
    return {"services": services, "volumes": {**compose["volumes"], **over["volumes"]}}


def test_the_cluster_file_passes_only_settings() -> None:
    used = set(re.findall(r"\bFLASHSALE_[A-Z0-9_]+", CLUSTER.read_text()))
    assert {"FLASHSALE_KAFKA_BROKERS", "FLASHSALE_REPLICATION_FACTOR"} <= used
    assert used <= set(Settings.env_names())


def test_the_cluster_is_three_voting_nodes_on_make_ups_ports(cluster: dict[str, Any]) -> None:
    three = Settings.from_env({"FLASHSALE_KAFKA_BROKERS": "3"})
    envs = [_env(_service(cluster, name)) for name in NODES]
    assert [env["KAFKA_NODE_ID"] for env in envs] == ["1", "2", "3"]
    assert len({env["CLUSTER_ID"] for env in envs}) == 1
    advertised = [env["KAFKA_ADVERTISED_LISTENERS"].removeprefix("PLAINTEXT://") for env in envs]
    assert advertised == three.broker_addresses()
    voters = ",".join(
        f"{n}@{addr.rsplit(':', 1)[0]}:{int(addr.rsplit(':', 1)[1]) + 1}"
        for n, addr in enumerate(advertised, 1)
    )
    for env in envs:
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        for name in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG", "DEFAULT"):
            assert env[f"KAFKA_{name}_REPLICATION_FACTOR"] == "3"
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"
    volumes = [_service(cluster, name)["volumes"][0].split(":")[0] for name in NODES]
    assert len(set(volumes)) == 3 and set(volumes) <= set(cluster["volumes"])


def test_the_app_uses_every_broker_and_three_replicas(cluster: dict[str, Any]) -> None:
    three = Settings.from_env({"FLASHSALE_KAFKA_BROKERS": "3"})
    for name in ("api", "api-2", "worker", "saga", "init"):
        env = _env(_service(cluster, name))
        assert set(env) >= NEEDED, name
        assert env["FLASHSALE_KAFKA_BOOTSTRAP"] == three.kafka_bootstrap, name
        assert (env["FLASHSALE_KAFKA_BROKERS"], env["FLASHSALE_REPLICATION_FACTOR"]) == ("3", "3")
        # The rest of the stack's settings stay those of docker-compose.yml.
        assert env["FLASHSALE_MYSQL_URL"] == _env(_service(cluster, "api"))["FLASHSALE_MYSQL_URL"]
    depends = _service(cluster, "init")["depends_on"]
    assert {"kafka", "kafka-2", "kafka-3", "mariadb"} <= set(depends)
