"""A Python asyncio load client, for phases that need per-order logic (pay or not, collect ids).

Slower than wrk (about half its ceiling here), so the intake storms use wrk; this
client runs the checkout and the payments. Each call is recorded with its
status and latency; ``counts()`` feeds the progress line.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stats import summary_ms


@dataclass
class Call:
    kind: str  # "order", "pay", ...
    status: int  # 0 when no answer came (connection error, timeout)
    started: float
    seconds: float
    body: dict[str, Any]


@dataclass
class HttpClient:
    base: str
    connections: int
    calls: list[Call] = field(default_factory=list)
    sent: int = 0
    session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        connector = aiohttp.TCPConnector(limit=self.connections)
        timeout = aiohttp.ClientTimeout(total=60)
        self.session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.session is not None
        await self.session.close()

    def counts(self) -> tuple[int, int]:
        return self.sent, len(self.calls)

    async def post(
        self, kind: str, path: str, token: str, body: Any = None, wait: float | None = None
    ) -> Call:
        """POST ``path`` as the member with ``token``; never raises for a failed call."""
        assert self.session is not None
        headers = {"Authorization": f"Bearer {token}"}
        if wait is not None:
            headers["Prefer"] = f"wait={wait:g}"
        self.sent += 1
        started = time.time()
        try:
            async with self.session.post(self.base + path, json=body, headers=headers) as resp:
                status, answer = resp.status, await _json(resp)
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, answer = 0, {"error": {"code": type(exc).__name__}}
        call = Call(kind, status, started, time.time() - started, answer)
        self.calls.append(call)
        return call

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]

    def statuses(self, kind: str) -> dict[str, int]:
        """Answers by status and, where the body names one, error code or order status."""
        return dict(Counter(_label(c) for c in self.of(kind)))

    def acknowledged(self, kind: str) -> int:
        """Answers that created an order: 201, 202, or 409 with an order id."""
        return sum(
            1
            for c in self.of(kind)
            if c.status in (201, 202) or (c.status == 409 and c.body.get("order_id"))
        )

    def latency(self, kind: str) -> dict[str, Any]:
        return summary_ms([c.seconds for c in self.of(kind) if c.status])


def _label(call: Call) -> str:
    error = call.body.get("error")
    if isinstance(error, dict) and error.get("code"):
        return f"{call.status} {error['code']}"
    if call.status >= 300 and call.body.get("reason"):
        return f"{call.status} {call.body['reason']}"
    if call.body.get("status"):
        return f"{call.status} {call.body['status']}"
    return str(call.status)


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        body = await resp.json(content_type=None)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
