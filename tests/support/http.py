"""A small JSON client for integration tests: one call, status and decoded body."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    data: bytes | str | None = None,
) -> tuple[int, Any]:
    """(status, JSON body or None); ``data`` sends raw bytes instead of ``body``."""
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body)
        sent.setdefault("Content-Type", "application/json")
    async with http.request(method, url, data=data, headers=sent) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None


def error_code(body: Any) -> str:
    assert isinstance(body, dict) and "error" in body, body
    return str(body["error"]["code"])
