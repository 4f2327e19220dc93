"""The issues' targets per scenario (benchmarks, not pass/fail tests), and a one-line headline.

Issue 12: throughput >= 1.0x the peer's decided orders/s (same run, same shape)
with the answer's p99 <= 100 ms (with ``Prefer: wait`` the answer is the
decision, as the buyer and the peer's figures see it); flash >= 60% of the
ceiling's request rate (wrk at the storm's connection count), exactly the stock
sold, no 5xx, audit clean; MySQL holding every order <= 1 s after the last
decision. Issue 7: throughput >= 5,000 decided orders/s with p99
time-to-decision <= 50 ms; recovery < 5 s.
"""

from __future__ import annotations

from typing import Any

from bench.versus import figure
from streams.statuses import EXPIRED, PAID, PAYMENT_FAILED, RESERVED


def _target(name: str, met: bool | None, ours: object) -> dict[str, Any]:
    return {"name": name, "met": met, "ours": str(ours)}


def _persistence(r: dict[str, Any]) -> list[dict[str, Any]]:
    lag = r.get("persistence_lag")
    if not lag:
        return []
    seconds = lag.get("seconds")
    met = None if lag.get("upper_bound") and (seconds or 0) > 1 else (seconds or 99) <= 1
    return [_target("MySQL holds every order <= 1 s after the last decision", met, seconds)]


def _audit_met(audit: str | None) -> bool | None:
    return None if audit is None else audit == "clean"


def targets_for(r: dict[str, Any]) -> list[dict[str, Any]]:
    scenario = r.get("scenario")
    found: list[dict[str, Any]] = []
    if scenario == "throughput":
        found += _throughput(r)
    if scenario == "flash":
        ratio = r.get("ceiling_ratio")
        stock = r["shape"]["stock"]
        sold = r["outcomes"].get(PAID, 0)
        audit = (r.get("audit") or {}).get("result")
        errors = r["errors"]["5xx"]
        found += [
            _target(">= 60% of the ceiling", None if ratio is None else ratio >= 0.6, ratio),
            _target(f"exactly {stock} units sold", sold == stock, sold),
            _target("no 5xx", errors == 0, errors),
            _target("audit clean", _audit_met(audit), audit),
        ]
    if scenario == "recovery":
        warm = r["warm"]["first_decision_s"]
        met = warm is not None and warm < 5
        found.append(_target("decides again < 5 s after kill -9", met, warm))
    return found + _persistence(r)


def _throughput(r: dict[str, Any]) -> list[dict[str, Any]]:
    decided = figure(r.get("versus"), "decided orders/s")
    vs_peer = decided.get("vs_peer")
    answer_p99 = (r.get("first_answer_ms") or {}).get("p99")
    ttd_p99 = (r.get("time_to_decision_ms") or {}).get("p99")
    peer_text = f"{r['decided_per_s']:,.0f}/s = {vs_peer}x the peer's {decided.get('peer')}/s"
    return [
        _target(
            ">= 1.0x the peer's decided orders/s",
            None if vs_peer is None else vs_peer >= 1.0,
            peer_text if vs_peer is not None else "no peer in this run",
        ),
        _target("answer (the decision) p99 <= 100 ms", _at_most(answer_p99, 100), answer_p99),
        _target(
            "(issue 7) >= 5,000 decided orders/s", r["decided_per_s"] >= 5000, r["decided_per_s"]
        ),
        _target("(issue 7) p99 time-to-decision <= 50 ms", _at_most(ttd_p99, 50), ttd_p99),
    ]


def _at_most(value: float | None, bound: float) -> bool:
    return value is not None and value <= bound


def headline(r: dict[str, Any]) -> str:
    scenario, outcomes = r.get("scenario"), r.get("outcomes") or {}
    if scenario == "ceiling":
        return f"python client: {r['python_client']['req_per_s']:,.0f} req/s"
    if scenario == "flash":
        return (
            f"sold {outcomes.get(PAID, 0):,} of {r['shape']['stock']:,}, "
            f"{outcomes.get(PAYMENT_FAILED, 0):,} declined, {outcomes.get(RESERVED, 0):,} unpaid"
        )
    if scenario == "checkout":
        return (
            f"paid {outcomes.get(PAID, 0):,}, declined {outcomes.get(PAYMENT_FAILED, 0):,}, "
            f"expired {outcomes.get(EXPIRED, 0):,}"
        )
    if scenario == "throughput":
        return f"reserved {outcomes.get(RESERVED, 0):,}"
    if scenario in ("peer", "peer-flash"):
        return f"sold {outcomes.get(RESERVED, 0):,}, audit {r['audit']['result']}"
    if scenario == "recovery":
        history = r["history"]
        return (
            f"warm {r['warm']['first_decision_s']} s, cold {r['cold']['first_decision_s']} s "
            f"after {history['orders']:,} orders (worker alone: "
            f"{history['worker_decisions_per_s']:,.0f} decided/s)"
        )
    return ""
