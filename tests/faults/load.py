"""Buyers hammering the real API while a fault happens, keeping every answer.

``Buyers`` runs ``concurrency`` loops until ``stop``: each places an order (one
unit of a random product, with its own ``Idempotency-Key`` and ``Prefer:
wait``), retries it with the same key after a 503 or no answer at all (as a
real client does: the same key names the same order), and pays or cancels some
of the reserved ones. ``acknowledged`` is every order id the API acknowledged
(202, 201, or 409 with an order id): each must end with a row, decided.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kit.sale import Member

RETRIES = 3
FAST_PATH_PAUSE = 0.02


@dataclass(frozen=True)
class Answer:
    kind: str  # order, pay or cancel
    status: int | None  # None: no HTTP answer (refused, reset, timed out)
    body: Any
    at: float
    product: int | None = None  # what an order was for

    @property
    def order_id(self) -> str | None:
        return self.body.get("order_id") if isinstance(self.body, dict) else None


@dataclass
class Buyers:
    base: str
    members: list[Member]
    products: list[int]
    pay_share: float = 0.4
    cancel_share: float = 0.1
    wait: float = 2.0
    concurrency: int = 32
    answers: list[Answer] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    seed: int = 1

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._numbers = itertools.count()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._tag = uuid.uuid4().hex[:8]

    def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.concurrency * 2),
            timeout=aiohttp.ClientTimeout(total=20),
        )
        self._tasks = [asyncio.create_task(self._buyer()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        self._stopping.set()
        await asyncio.gather(*self._tasks)
        await self._session.close()

    async def _call(self, kind: str, path: str, member: Member, body: Any = None) -> Answer:
        headers = {**member.headers, "Prefer": f"wait={self.wait:g}"}
        if kind == "order":
            headers["Idempotency-Key"] = body.pop("key")
        self.in_flight[kind] += 1
        product = body["product_id"] if kind == "order" else None
        loop = asyncio.get_running_loop()
        try:
            async with self._session.post(self.base + path, json=body, headers=headers) as resp:
                text = await resp.json(content_type=None)
                answer = Answer(kind, resp.status, text, loop.time(), product)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            answer = Answer(kind, None, repr(exc), loop.time(), product)
        finally:
            self.in_flight[kind] -= 1
        self.answers.append(answer)
        return answer

    async def _order(self, member: Member, product: int, key: str) -> Answer:
        for attempt in range(RETRIES):
            body = {"product_id": product, "qty": 1, "key": key}
            answer = await self._call("order", "/orders", member, body)
            if answer.status not in (None, 503) or attempt == RETRIES - 1:
                return answer
            await asyncio.sleep(0.5)
        raise AssertionError("unreachable")

    async def _buyer(self) -> None:
        while not self._stopping.is_set():
            number = next(self._numbers)
            member = self.members[number % len(self.members)]
            product = self._rng.choice(self.products)
            placed = await self._order(member, product, f"{self._tag}-{number}")
            roll = self._rng.random()
            if placed.status == 409 and placed.order_id is None:
                await asyncio.sleep(FAST_PATH_PAUSE)  # sold out: a person looks, then tries again
            if placed.status != 201 or placed.order_id is None:
                continue
            if roll < self.pay_share:
                await self._call("pay", f"/orders/{placed.order_id}/pay", member)
            elif roll < self.pay_share + self.cancel_share:
                await self._call("cancel", f"/orders/{placed.order_id}/cancel", member)

    def acknowledged(self) -> set[str]:
        return {
            a.order_id
            for a in self.answers
            if a.kind == "order" and a.order_id and a.status in (201, 202, 409)
        }

    def count(self, kind: str = "order") -> Counter[int | None]:
        return Counter(a.status for a in self.answers if a.kind == kind)

    async def until(self, acknowledged: int, within: float = 60.0) -> None:
        """Until at least ``acknowledged`` orders were acknowledged."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.acknowledged()) < acknowledged:
            assert asyncio.get_running_loop().time() < deadline, self.count()
            await asyncio.sleep(0.05)

    def decided_since(self, since: float) -> int:
        """Orders answered with their decision (201 or 409) since loop time ``since``."""
        return sum(
            1
            for a in self.answers
            if a.kind == "order" and a.status in (201, 409) and a.at >= since
        )

    def longest_silence(self) -> float:
        """The longest time, in seconds, between two answers for one product that carried a
        decision of the stock agent (201, or 409 naming an order): how long a product's
        partition went without a decision while buyers kept ordering it."""
        times: dict[int | None, list[float]] = {}
        for a in self.answers:
            if a.kind == "order" and (a.status == 201 or (a.status == 409 and a.order_id)):
                times.setdefault(a.product, []).append(a.at)
        gaps = (
            later - earlier
            for decided in times.values()
            for earlier, later in itertools.pairwise(sorted(decided))
        )
        return max(gaps, default=0.0)

    async def until_decided(self, count: int, within: float = 90.0) -> None:
        """Until ``count`` more orders were decided in time for their answer: the
        pipeline decides again after the fault."""
        loop = asyncio.get_running_loop()
        since, deadline = loop.time(), loop.time() + within
        while self.decided_since(since) < count:
            assert loop.time() < deadline, self.count()
            await asyncio.sleep(0.05)
