"""The seed's measured figures (JMeter, hardware not stated), per matching scenario."""

from __future__ import annotations

from typing import Any

SEED: dict[str, dict[str, Any]] = {
    "flash": {
        "case": 3,
        "design": "Redis lock + Kafka, every step an event",
        "tps": 917.95,
        "avg_latency_ms": 247.41,
        "outcome": "500 orders succeeded, 126 payment failures, all stored",
    },
    "throughput": {
        "case": 4,
        "design": "case 3 with the order API asynchronous on a bounded executor",
        "tps": 3040.0,
        "avg_latency_ms": 61.15,
        "outcome": "50,000 requests, all purchasable, no payment failure",
    },
    "checkout": {
        "case": 5,
        "design": "order written to the database before answering (the seed's final design)",
        "tps": 466.78,
        "avg_latency_ms": 387.72,
        "outcome": "6,385 succeeded, 1,620 payment failures stored; abandoned not stored",
    },
}


def seed_for(scenario: str) -> dict[str, Any] | None:
    return SEED.get(scenario)
