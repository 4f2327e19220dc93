"""Every metric the code defines is documented in docs/metrics.md, and every metric
the dashboard and the rules ask for is one the code defines."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "metrics.md").read_text()
# A metric name as a string in the code (counters are named without "_total").
DEFINED = re.compile(r'"(flashsale_[a-z_]+)"')
USED = re.compile(r"\b(flashsale_[a-z_]+)")
SUFFIXES = ("_total", "_bucket", "_sum", "_count")


def _defined() -> set[str]:
    names: set[str] = set()
    for package in ("api", "agents", "streams"):
        for path in (ROOT / package).glob("*.py"):
            names.update(DEFINED.findall(path.read_text()))
    # agents/stock_gauges.py builds the four product gauges' names from one template.
    names.discard("flashsale_product_")
    stock_gauges = (ROOT / "agents" / "stock_gauges.py").read_text()
    fields = re.findall(r'^    "([a-z]+)": "', stock_gauges, re.MULTILINE)
    names.update(f"flashsale_product_{field}_units" for field in fields)
    return names


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_every_defined_metric_is_documented() -> None:
    defined = _defined()
    assert len(defined) >= 25
    documented = {_base(name) for name in USED.findall(DOC)}
    assert sorted(defined - documented) == []


def test_the_dashboard_and_rules_ask_only_for_defined_metrics() -> None:
    defined = _defined()
    for path in (
        ROOT / "ops" / "grafana" / "dashboards" / "flashsale.json",
        ROOT / "ops" / "prometheus" / "rules.yml",
    ):
        used = {_base(name) for name in USED.findall(path.read_text())}
        assert sorted(used - defined) == [], path.name
