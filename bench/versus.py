"""Our figures as ratios to the peer and to the ceiling of the same run (issue 12).

Each of our storms has a peer run of the same shape (``bench/scenarios/peer.py``):
throughput against ``peer`` (decided orders/s, and the answer's p50/p99, which
with ``Prefer: wait`` is the decision as the buyer sees it), flash against
``peer-flash`` (answered requests/s, units sold, 5xx). The ceiling is wrk's
against the bare endpoint at the storm's own connection count when measured.
"""

from __future__ import annotations

from typing import Any

from streams.statuses import PAID, RESERVED

PEER_OF = {"throughput": "peer", "flash": "peer-flash"}


def peers(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The run's peer results by scenario (the first that did not fail)."""
    found: dict[str, dict[str, Any]] = {}
    for r in results:
        if r.get("scenario") in PEER_OF.values() and "failed" not in r:
            found.setdefault(r["scenario"], r)
    return found


def ceiling_for(r: dict[str, Any], ceiling: dict[str, Any] | None) -> float | None:
    """The ceiling's req/s for ``r``'s generator, at ``r``'s connection count if measured."""
    if not ceiling:
        return None
    generator = r.get("generator", "wrk")
    connections = (r.get("shape") or {}).get("connections")
    value = ceiling.get(f"{generator}@{connections}") or ceiling.get(generator)
    return float(value) if value else None


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or not theirs:
        return None
    return round(ours / theirs, 3)


def _row(figure: str, ours: Any, peer: Any, ceiling: float | None = None) -> dict[str, Any]:
    return {
        "figure": figure,
        "ours": ours,
        "peer": peer,
        "ceiling": ceiling,
        "vs_peer": ratio(ours, peer),
        "vs_ceiling": ratio(ours, ceiling),
    }


def _answer(r: dict[str, Any] | None, key: str) -> float | None:
    return None if r is None else (r.get("first_answer_ms") or {}).get(key)


def _sold(r: dict[str, Any] | None) -> int | None:
    if r is None:
        return None
    outcomes = r.get("outcomes") or {}
    return int(outcomes.get(PAID if r["scenario"] == "flash" else RESERVED, 0))


def _five(r: dict[str, Any] | None) -> int | None:
    return None if r is None else int(r["errors"]["5xx"])


def versus(
    r: dict[str, Any], found: dict[str, dict[str, Any]], ceiling: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Our result ``r`` beside its peer and the ceiling; None for a scenario without a peer."""
    name = PEER_OF.get(r.get("scenario", ""))
    if name is None or "failed" in r:
        return None
    peer, top = found.get(name), ceiling_for(r, ceiling)
    if name == "peer":
        rows = [
            _row("decided orders/s", r["decided_per_s"], peer and peer["decided_per_s"], top),
            _row("answer p50 ms", _answer(r, "p50"), _answer(peer, "p50")),
            _row("answer p99 ms", _answer(r, "p99"), _answer(peer, "p99")),
        ]
    else:
        rows = [
            _row("answered req/s", r["req_per_s"], peer and peer["req_per_s"], top),
            _row("answer p99 ms", _answer(r, "p99"), _answer(peer, "p99")),
            _row("units sold", _sold(r), _sold(peer)),
            _row("5xx", _five(r), _five(peer)),
        ]
    return {"peer": peer["label"] if peer else None, "rows": rows}


def figure(v: dict[str, Any] | None, name: str) -> dict[str, Any]:
    """The row called ``name`` of a comparison (an empty one if there is none)."""
    for row in (v or {}).get("rows", []):
        if row["figure"] == name:
            return dict(row)
    return {}
