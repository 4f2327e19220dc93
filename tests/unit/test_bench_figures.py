"""The bench's own arithmetic: orders counted per command (not per record), our
figures as ratios to the peer and the ceiling, and issue 12's targets."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from bench.storm import answered_figures
from bench.targets import targets_for
from bench.tracker import Tracker
from bench.versus import ceiling_for, peers, versus
from streams.records import CommandBatch, ReserveOrder
from streams.settings import Settings


def reserve(order_id: str) -> ReserveOrder:
    return ReserveOrder(
        product_id=1, order_id=order_id, member_id=7, qty=1, amount=5, hold_seconds=60, at=1.0
    )


def record(value: Any, millis: int) -> SimpleNamespace:
    return SimpleNamespace(value=json.dumps(value).encode(), timestamp=millis)


def test_the_tracker_counts_each_order_of_a_command_batch() -> None:
    tracker = Tracker(Settings.from_env({}))
    batch = CommandBatch(product_id=1, commands=[reserve("a").asdict(), reserve("b").asdict()])
    records = [record(batch.asdict(), 1000), record(reserve("c").asdict(), 2000)]
    tracker._handle(tracker.commands, records)  # type: ignore[arg-type]
    assert tracker.commanded_at == {"a": 1.0, "b": 1.0, "c": 2.0}


def wrk_summary(statuses: dict[str, int], seconds: float = 2.0) -> dict[str, Any]:
    return {
        "statuses": statuses,
        "first_sent": 100.0,
        "last_answer": 100.0 + seconds,
        "latency_us": {"mean": 5000, "max": 9000},
        "percentiles_us": {"50": 4000, "95": 8000, "99": 9000},
        "errors": {},
        "complete": True,
        "answers_per_tick": {},
    }


def test_each_answer_of_the_peer_is_a_decision() -> None:
    figures = answered_figures(wrk_summary({"201": 50, "409-no-order": 150}))
    assert (figures["decided"], figures["acknowledged"], figures["decided_per_s"]) == (200, 50, 100)


def ours(scenario: str, **figures: Any) -> dict[str, Any]:
    shape = {"connections": 256 if scenario == "flash" else 64, "stock": 500}
    return {"scenario": scenario, "label": scenario, "generator": "wrk", "shape": shape, **figures}


def test_ratios_to_the_peer_and_to_the_ceiling_at_the_storms_concurrency() -> None:
    ceiling = {"wrk": 20_000.0, "python": 8_000.0, "wrk@256": 12_000.0}
    answer = {"p50": 30.0, "p99": 80.0}
    throughput = ours("throughput", decided_per_s=500.0, first_answer_ms=answer)
    peer = ours("peer", decided_per_s=2_000.0, first_answer_ms={"p50": 10.0, "p99": 40.0})
    flash = ours("flash", req_per_s=6_000.0, outcomes={"PAID": 500}, errors={"5xx": 0})
    flash["first_answer_ms"] = answer
    found = peers([throughput, peer, flash])

    rows = {r["figure"]: r for r in versus(throughput, found, ceiling)["rows"]}  # type: ignore[index]
    assert rows["decided orders/s"]["vs_peer"] == 0.25
    assert rows["decided orders/s"]["vs_ceiling"] == 0.025
    assert rows["answer p99 ms"]["vs_peer"] == 2.0
    assert ceiling_for(flash, ceiling) == 12_000.0
    without_peer = versus(flash, found, ceiling)
    assert without_peer is not None and without_peer["peer"] is None
    assert {r["figure"]: r["vs_ceiling"] for r in without_peer["rows"]}["answered req/s"] == 0.5


def test_the_throughput_targets_need_the_peer_of_the_same_run() -> None:
    answer = {"p50": 30.0, "p99": 80.0}
    throughput = ours("throughput", decided_per_s=2_500.0, first_answer_ms=answer)
    peer = ours("peer", decided_per_s=2_000.0, first_answer_ms=answer)
    for found, met in (({"peer": peer}, True), ({}, None)):
        throughput["versus"] = versus(throughput, found, None)
        by_name = {t["name"]: t["met"] for t in targets_for(throughput)}
        assert by_name[">= 1.0x the peer's decided orders/s"] is met
        assert by_name["answer (the decision) p99 <= 100 ms"] is True
