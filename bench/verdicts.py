"""A scenario's pass/fail checks: correctness after the load, not speed."""

from __future__ import annotations

from typing import Any


def check(name: str, ok: bool, detail: object = "") -> dict[str, Any]:
    return {"name": name, "ok": bool(ok), "detail": str(detail)}


def all_ok(result: dict[str, Any]) -> bool:
    return all(c["ok"] for c in result.get("checks", []))


def audit_clean(result: dict[str, Any]) -> dict[str, Any]:
    """``flashsale-admin audit`` found no violation after the run."""
    audit = result["audit"]
    return check("audit clean", audit["result"] == "clean", audit["result"])
