"""What the cluster fault tests check beyond the audit, and the figures they print.

``exact_totals``: every order Kafka holds has exactly one row (the audit's order
count equals its acknowledged count). ``answers_between``: what buyers were told
while the fault lasted. ``memory``: free memory and the brokers' resident size.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.cluster.kafka_three import KafkaThree
from tests.faults.load import Buyers

SUMMARY = re.compile(r"(\d+) orders \((\d+) acknowledged\)")


def exact_totals(report: str) -> tuple[int, int]:
    """(rows, acknowledged) from the audit's summary; they must be equal."""
    found = SUMMARY.search(report)
    assert found, report
    rows, acknowledged = int(found[1]), int(found[2])
    assert rows == acknowledged, report
    return rows, acknowledged


def answers_between(buyers: Buyers, start: float, end: float) -> Counter[int | None]:
    return Counter(a.status for a in buyers.answers if a.kind == "order" and start <= a.at <= end)


def _rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def memory(cluster: KafkaThree) -> str:
    """MemAvailable of the machine and each live broker's resident memory, in MiB."""
    available = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) // 1024
    brokers = {n: _rss_mib(p.pid) for n, p in cluster.procs.items() if p.alive}
    return f"memory available {available} MiB, brokers' RSS {brokers} MiB"
