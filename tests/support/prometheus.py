"""A real Prometheus (Debian's ``prometheus``) for integration tests: it scrapes the
test's own processes every second, with the project's rules, and is asked over its
HTTP API, as Grafana asks it."""

from __future__ import annotations

import json
import math
import shutil
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from kit.processes import ManagedProcess, free_port, wait_http_ok
from ops import monitoring
from ops.monitoring import Target

ROOT = Path(__file__).resolve().parents[2]


def start_prometheus(targets: list[Target], workdir: Path) -> tuple[ManagedProcess, str]:
    """Prometheus scraping ``targets`` every second; the process and its base URL."""
    assert shutil.which("prometheus"), "`make services` installs Debian's prometheus package"
    port = free_port()
    config = monitoring.scrape_config(
        targets, rules=ROOT / monitoring.RULES, interval="1s", self_port=port
    )
    path = workdir / "prometheus.yml"
    path.write_text(json.dumps(config))
    argv = list(monitoring.prometheus_spec(path, workdir / "prometheus-data", port).argv)
    proc = ManagedProcess("prometheus", argv, {}, workdir / "prometheus.log", port).start()
    base = f"http://127.0.0.1:{port}"
    wait_http_ok(f"{base}/-/ready", proc, timeout=30)
    return proc, base


def api_get(base: str, path: str, **params: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return body["data"]


def query(base: str, expr: str) -> list[dict[str, Any]]:
    """The instant vector ``expr`` evaluates to now."""
    data = api_get(base, "/api/v1/query", query=expr)
    assert data["resultType"] == "vector", (expr, data)
    return list(data["result"])


def finite(samples: list[dict[str, Any]]) -> list[float]:
    return [v for s in samples if math.isfinite(v := float(s["value"][1]))]


def eventually(check: Any, timeout: float = 30.0) -> Any:
    """Call ``check`` until it returns without AssertionError; its result."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
