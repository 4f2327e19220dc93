"""What each scenario sends, in its full and its smoke size.

The full sizes are the seed's (see ``shared/seed/SEED.md``); the smoke sizes keep
the same shape at a few thousand requests, so CI can run the bench code in well
under two minutes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """One scenario's load and the settings its stack runs with."""

    requests: int
    products: int = 1
    # Units per product; 0 means "enough for every order" (requests / products, rounded up).
    stock: int = 0
    wait: float | None = None  # "Prefer: wait=N" on every order, or none
    payment_failure_rate: float = 0.0
    hold_seconds: int = 300
    never_pay_share: float = 0.0  # buyers who reserve and then never pay
    rate_limit: int = 20
    connections: int = 64  # concurrent connections of the load generator

    def units_per_product(self) -> int:
        return self.stock or -(-self.requests // self.products)

    def scaled(self, requests: int) -> Shape:
        """The same shape with ``requests`` orders (stock for all stays stock for all)."""
        return dataclasses.replace(self, requests=requests)


FULL: dict[str, Shape] = {
    "ceiling": Shape(requests=50_000, products=8),
    # Seed case 3's sale (one product of 500 units, 20% of charges declined) as issue
    # 12's storm: 20,000 members with a limit of 1, 256 connections.
    "flash": Shape(
        requests=20_000, products=1, stock=500, payment_failure_rate=0.2, connections=256
    ),
    # Seed case 5: 10,000 orders, stock for all, 20% never pay (short hold), 20% declined.
    "checkout": Shape(
        requests=10_000,
        products=8,
        wait=2,
        payment_failure_rate=0.2,
        hold_seconds=10,
        never_pay_share=0.2,
        connections=128,
    ),
    # Seed case 4: 50,000 orders over 8 products, all purchasable, each answer the decision.
    "throughput": Shape(requests=50_000, products=8, wait=2),
    # Orders of history before the worker is killed (sent straight to stock-commands).
    "recovery": Shape(requests=1_000_000, products=8, stock=10**9, rate_limit=0),
}
# The peer (bench/peer.py) takes the same loads as ours: the flash storm without
# payments (the peer has none), and the throughput run.
FULL["peer-flash"] = dataclasses.replace(FULL["flash"], payment_failure_rate=0.0)
FULL["peer"] = FULL["throughput"]

SMOKE: dict[str, Shape] = {
    "ceiling": FULL["ceiling"].scaled(2_000),
    "flash": dataclasses.replace(FULL["flash"], requests=2_000, stock=50),
    "checkout": dataclasses.replace(FULL["checkout"], requests=500, hold_seconds=3),
    "throughput": FULL["throughput"].scaled(2_000),
    "recovery": FULL["recovery"].scaled(2_000),
}
SMOKE["peer-flash"] = dataclasses.replace(SMOKE["flash"], payment_failure_rate=0.0)
SMOKE["peer"] = SMOKE["throughput"]
