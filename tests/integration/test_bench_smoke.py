"""The load bench's smoke run (``make bench-smoke``), so that the bench code cannot rot.

It runs the ceiling, throughput, flash and recovery scenarios, and the peer's two
(``peer``, ``peer-flash``), at a few thousand requests through the bench's Python
entry point, against real workers, APIs and the peer, and checks that the report
is written and its numbers hold together: no 5xx, every acknowledged order
decided, the scenario's own checks passed (the peer's audit among them), our
storms compared with the peer's. Speed is not asserted: the figures of a smoke
run on a shared machine mean little.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bench.main import run

pytestmark = pytest.mark.integration


def assert_latency_sane(summary: dict[str, Any]) -> None:
    values = [summary[k] for k in ("p50", "p95", "p99", "max")]
    assert all(not math.isnan(v) and v >= 0 for v in values), summary
    assert values == sorted(values), summary


def assert_orders_sane(result: dict[str, Any]) -> None:
    assert result["errors"]["5xx"] == 0, result["errors"]
    assert result["requests"] == result["shape"]["requests"], result["statuses"]
    assert result["acknowledged"] > 0
    assert result["decided"] == result["acknowledged"]
    assert result["req_per_s"] > 0 and result["decided_per_s"] > 0
    assert_latency_sane(result["first_answer_ms"])
    assert_latency_sane(result["time_to_decision_ms"])
    assert result["persistence_lag"]["complete"], result["persistence_lag"]


def test_smoke_run_writes_a_sane_report(tmp_path: Path) -> None:
    report, results = run(["--smoke", "--out", str(tmp_path / "report")])

    assert (report / "report.md").read_text().startswith("# Bench report")
    written = json.loads((report / "report.json").read_text())
    assert [r["label"] for r in written["results"]] == [r["label"] for r in results]
    by_name = {r["scenario"]: r for r in results}
    assert sorted(by_name) == ["ceiling", "flash", "peer", "peer-flash", "recovery", "throughput"]
    failed = {r["label"]: r["failed"] for r in results if "failed" in r}
    assert not failed, failed
    for r in results:
        assert (report / f"{r['label']}.png").stat().st_size > 0
        failing = [c for c in r["checks"] if not c["ok"]]
        assert not failing, (r["label"], failing)

    assert written["ceiling"]["wrk"] > 0 and written["ceiling"]["python"] > 0
    assert_orders_sane(by_name["throughput"])
    throughput = by_name["throughput"]
    assert throughput["outcomes"] == {"RESERVED": throughput["shape"]["requests"]}
    assert_orders_sane(by_name["flash"])
    assert by_name["flash"]["ceiling_ratio"] > 0
    for name, peer in (("throughput", "peer"), ("flash", "peer-flash")):
        assert by_name[name]["versus"]["peer"] == peer
        assert by_name[peer]["errors"]["5xx"] == 0
        assert by_name[peer]["decided"] == by_name[peer]["shape"]["requests"]
        assert by_name[peer]["audit"]["result"] == "clean"
    assert by_name["peer-flash"]["audit"]["sold"] == by_name["peer-flash"]["shape"]["stock"]
    assert "## Against the peer and the ceiling" in (report / "report.md").read_text()
    assert by_name["recovery"]["warm"]["first_decision_s"] is not None
    assert by_name["recovery"]["cold"]["first_decision_s"] is not None
