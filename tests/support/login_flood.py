"""A login flood in its own process: ``python -m tests.support.login_flood BASE SECONDS N``.

N connections send wrong-password logins for made-up accounts (credential stuffing)
for SECONDS. It prints ``flooding`` when it starts, then one JSON line: the count of
each status, and every distinct (status, Retry-After, error code) seen. In its own
process, so the flood's client does not slow the measuring client's orders down on
the same event loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter

import aiohttp


async def flood(base: str, seconds: float, connections: int) -> dict[str, object]:
    statuses: Counter[int] = Counter()
    seen: set[tuple[int, str | None, str | None]] = set()

    until = time.monotonic() + seconds

    async def connection(http: aiohttp.ClientSession, n: int) -> None:
        attempt = 0
        while time.monotonic() < until:
            attempt += 1
            body = {"email": f"stuffed-{n}-{attempt}@example.com", "password": "guess-123"}
            async with http.post(f"{base}/auth/login", json=body) as resp:
                answer = await resp.json()
                statuses[resp.status] += 1
                code = answer.get("error", {}).get("code") if set(answer) == {"error"} else None
                seen.add((resp.status, resp.headers.get("Retry-After"), code))

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        print("flooding", flush=True)  # the caller measures from here on
        await asyncio.gather(*(connection(http, n) for n in range(connections)))
    return {"statuses": dict(statuses), "seen": sorted(seen, key=str)}


if __name__ == "__main__":
    base, seconds, connections = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(asyncio.run(flood(base, seconds, connections))))
