"""Settings.from_env: the contract's variables and defaults, parsing, precedence, checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from streams.settings import DEV_JWT_SECRET, MIN_JWT_SECRET_LENGTH, Settings, SettingsError

# The contract's "Settings" table, outside dev (no JWT secret, no admin account).
CONTRACT_DEFAULTS = {
    "FLASHSALE_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "FLASHSALE_MYSQL_URL": "mysql://flashsale:flashsale@127.0.0.1:3306/flashsale",
    "FLASHSALE_REDIS_URL": "redis://127.0.0.1:6379/0",
    "FLASHSALE_API_PORT": "8080",
    "FLASHSALE_WORKERS": "1",
    "FLASHSALE_PARTITIONS": "8",
    "FLASHSALE_JWT_SECRET": "",
    "FLASHSALE_ENV": "prod",
    "FLASHSALE_ADMIN_EMAIL": "",
    "FLASHSALE_ADMIN_PASSWORD": "",
    "FLASHSALE_HOLD_SECONDS": "300",
    "FLASHSALE_PAYMENT_FAILURE_RATE": "0.0",
    "FLASHSALE_PAYMENT_LATENCY_MS": "0",
    "FLASHSALE_RATE_LIMIT": "20",
}
STRONG_SECRET = "s" * MIN_JWT_SECRET_LENGTH


def test_defaults_are_the_contract_table() -> None:
    env = Settings.from_env({}).to_env()
    assert {name: env[name] for name in CONTRACT_DEFAULTS} == CONTRACT_DEFAULTS


def test_every_setting_has_a_variable_and_a_doc() -> None:
    names = Settings.env_names()
    assert set(CONTRACT_DEFAULTS) <= set(names)
    assert len(names) == len(set(names))
    for f in dataclasses.fields(Settings):
        assert f.metadata["env"].startswith("FLASHSALE_"), f.name
        assert f.metadata["doc"].strip(), f.name


def test_environment_values_are_parsed_to_their_types() -> None:
    settings = Settings.from_env(
        {
            "FLASHSALE_KAFKA_BOOTSTRAP": "k1:9092,k2:9092",
            "FLASHSALE_API_PORT": "9000",
            "FLASHSALE_PARTITIONS": "3",
            "FLASHSALE_PAYMENT_FAILURE_RATE": "0.25",
            "FLASHSALE_RATE_LIMIT": "0",
            "FLASHSALE_APP_ID": "bench1",
        }
    )
    assert settings.kafka_bootstrap == "k1:9092,k2:9092"
    assert (settings.api_port, settings.partitions, settings.rate_limit) == (9000, 3, 0)
    assert settings.payment_failure_rate == 0.25
    assert settings.app_id == "bench1"


def test_an_empty_variable_counts_as_unset() -> None:
    assert Settings.from_env({"FLASHSALE_API_PORT": ""}).api_port == 8080


def test_explicit_arguments_beat_the_environment() -> None:
    environ = {"FLASHSALE_PARTITIONS": "3", "FLASHSALE_APP_ID": "from-env"}
    settings = Settings.from_env(environ, partitions=5)
    assert settings.partitions == 5
    assert settings.app_id == "from-env"


def test_to_env_round_trips() -> None:
    settings = Settings.from_env({}, partitions=2, payment_failure_rate=0.5, jwt_secret="x" * 40)
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize(
    "environ",
    [
        {"FLASHSALE_API_PORT": "eighty"},
        {"FLASHSALE_PAYMENT_FAILURE_RATE": "half"},
        {"FLASHSALE_ENV": "staging"},
        {"FLASHSALE_PARTITIONS": "0"},
        {"FLASHSALE_WORKERS": "0"},
        {"FLASHSALE_API_PROCESSES": "0"},
        {"FLASHSALE_API_PROCESS": "-1"},
        {"FLASHSALE_API_PORT": "8181"},  # process 2's own port
        {"FLASHSALE_PAYMENT_FAILURE_RATE": "1.5"},
        {"FLASHSALE_HOLD_SECONDS": "-1"},
        {"FLASHSALE_RATE_LIMIT": "-5"},
    ],
)
def test_bad_values_are_refused(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(environ)


def test_dev_fills_the_admin_account() -> None:
    settings = Settings.from_env({"FLASHSALE_ENV": "dev"})
    assert (settings.admin_email, settings.admin_password) == (
        "admin@example.com",
        "admin-password",
    )


def test_dev_keeps_an_admin_account_that_was_given() -> None:
    settings = Settings.from_env({"FLASHSALE_ENV": "dev", "FLASHSALE_ADMIN_EMAIL": "ops@shop.kr"})
    assert settings.admin_email == "ops@shop.kr"
    assert settings.admin_password == "admin-password"


def test_prod_refuses_a_missing_or_short_secret() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({}).signing_secret()
    short = "s" * (MIN_JWT_SECRET_LENGTH - 1)
    with pytest.raises(SettingsError):
        Settings.from_env({}, jwt_secret=short).signing_secret()


def test_a_strong_secret_is_used_as_given() -> None:
    assert Settings.from_env({}, jwt_secret=STRONG_SECRET).signing_secret() == STRONG_SECRET
    dev = Settings.from_env({"FLASHSALE_ENV": "dev"}, jwt_secret=STRONG_SECRET)
    assert dev.signing_secret() == STRONG_SECRET


def test_dev_without_a_secret_warns_and_uses_the_dev_secret() -> None:
    settings = Settings.from_env({"FLASHSALE_ENV": "dev"})
    with pytest.warns(RuntimeWarning, match="dev secret"):
        assert settings.signing_secret() == DEV_JWT_SECRET


def test_worker_web_ports_follow_the_contract() -> None:
    settings = Settings.from_env({})
    assert [settings.worker_web_port(n) for n in (1, 2, 3)] == [6066, 6067, 6068]


def test_the_readme_settings_table_is_true() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for f in dataclasses.fields(Settings):
        default = f"`{f.default}`" if f.default != "" else "(none)"
        row = f"| `{f.metadata['env']}` | {default} | {f.metadata['doc']} |"
        assert row in readme.splitlines(), f"README.md lacks or misstates: {row}"


def test_one_broker_keeps_one_replica_and_one_bootstrap() -> None:
    settings = Settings.from_env({})
    assert (settings.kafka_brokers, settings.replication_factor) == (1, 1)
    assert settings.min_insync_replicas() == 1
    assert settings.broker_addresses() == ["127.0.0.1:9092"]


def test_three_brokers_mean_three_replicas_two_in_sync_and_every_broker_as_bootstrap() -> None:
    settings = Settings.from_env({"FLASHSALE_KAFKA_BROKERS": "3"})
    assert settings.replication_factor == 3
    assert settings.min_insync_replicas() == 2
    assert settings.broker_addresses() == ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]


@pytest.mark.parametrize(("brokers", "replicas"), [(2, 2), (5, 3)])
def test_the_default_replication_is_the_broker_count_up_to_three(
    brokers: int, replicas: int
) -> None:
    settings = Settings.from_env({"FLASHSALE_KAFKA_BROKERS": str(brokers)})
    assert settings.replication_factor == replicas
    assert len(settings.broker_addresses()) == brokers


def test_given_kafka_settings_beat_the_derived_ones() -> None:
    environ = {
        "FLASHSALE_KAFKA_BROKERS": "3",
        "FLASHSALE_REPLICATION_FACTOR": "2",
        "FLASHSALE_KAFKA_BOOTSTRAP": "k1:9092,k2:9092,k3:9092",
    }
    settings = Settings.from_env(environ)
    assert (settings.replication_factor, settings.min_insync_replicas()) == (2, 1)
    assert settings.kafka_bootstrap == "k1:9092,k2:9092,k3:9092"
    # An external cluster: make up runs no broker, the topics still get three replicas.
    assert Settings.from_env({"FLASHSALE_REPLICATION_FACTOR": "3"}).replication_factor == 3


@pytest.mark.parametrize(
    "environ", [{"FLASHSALE_KAFKA_BROKERS": "0"}, {"FLASHSALE_REPLICATION_FACTOR": "0"}]
)
def test_no_broker_or_no_replica_is_refused(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env(environ)
