"""The issue's targets per scenario (benchmarks, not pass/fail tests), and a one-line headline.

Targets: throughput >= 5,000 decided orders/s with p99 time-to-decision <= 50 ms;
flash >= 60% of the ceiling's request rate, exactly the stock sold, audit clean;
MySQL holding every order <= 1 s after the last decision; recovery < 5 s.
"""

from __future__ import annotations

from typing import Any

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
        p99 = (r.get("time_to_decision_ms") or {}).get("p99")
        found += [
            _target(">= 5,000 decided orders/s", r["decided_per_s"] >= 5000, r["decided_per_s"]),
            _target("p99 time-to-decision <= 50 ms", p99 is not None and p99 <= 50, p99),
        ]
    if scenario == "flash":
        ratio = r.get("ceiling_ratio")
        stock = r["shape"]["stock"]
        sold = r["outcomes"].get(PAID, 0)
        audit = (r.get("audit") or {}).get("result")
        found += [
            _target(">= 60% of the ceiling", None if ratio is None else ratio >= 0.6, ratio),
            _target(f"exactly {stock} units sold", sold == stock, sold),
            _target("audit clean", _audit_met(audit), audit),
        ]
    if scenario == "recovery":
        warm = r["warm"]["first_decision_s"]
        met = warm is not None and warm < 5
        found.append(_target("decides again < 5 s after kill -9", met, warm))
    return found + _persistence(r)


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
    if scenario == "recovery":
        history = r["history"]
        return (
            f"warm {r['warm']['first_decision_s']} s, cold {r['cold']['first_decision_s']} s "
            f"after {history['orders']:,} orders (worker alone: "
            f"{history['worker_decisions_per_s']:,.0f} decided/s)"
        )
    return ""
