"""The Prometheus rules and the scrape configuration ``make up`` writes, checked by
Prometheus's own ``promtool`` (Debian's package, which ``make services`` installs)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ops import monitoring, stack
from streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "ops" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: `make services` installs Debian's prometheus package"
    return found


def _run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_are_valid(promtool: str) -> None:
    assert "SUCCESS" in _run([promtool, "check", "rules", "rules.yml"], RULES_DIR)


def test_each_alert_fires_when_it_should_and_only_then(promtool: str) -> None:
    assert "SUCCESS" in _run([promtool, "test", "rules", "rules_test.yml"], RULES_DIR)


def test_every_alert_has_a_test() -> None:
    rules = (RULES_DIR / "rules.yml").read_text()
    tested = (RULES_DIR / "rules_test.yml").read_text()
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert alerts
    assert [a for a in alerts if f"alertname: {a}" not in tested] == []


def test_the_generated_configuration_scrapes_every_process(
    promtool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # the rules' path is relative to the checkout
    settings = Settings.from_env({}, workers=3, api_processes=2)
    path = tmp_path / "prometheus.yml"
    assert monitoring.write_config(stack.scrape_targets(settings), path)
    assert not monitoring.write_config(stack.scrape_targets(settings), path)  # unchanged
    _run([promtool, "check", "config", str(path)], tmp_path)
    config = json.loads(path.read_text())
    scraped = {
        (job["job_name"], static["labels"]["process"], static["targets"][0])
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        if "labels" in static
    }
    assert scraped == {
        ("flashsale-worker", "worker-1", "127.0.0.1:6066"),
        ("flashsale-worker", "worker-2", "127.0.0.1:6067"),
        ("flashsale-worker", "worker-3", "127.0.0.1:6068"),
        ("flashsale-saga", "saga-1", "127.0.0.1:6166"),
        ("flashsale-api", "api", "127.0.0.1:8180"),
        ("flashsale-api", "api-2", "127.0.0.1:8181"),
    }
    assert config["rule_files"] == [str(RULES_DIR / "rules.yml")]
