"""The JSON envelope of every request body: media type, size, syntax, shape."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from api.bodies import MAX_BODY_BYTES, read_json_object
from api.errors import error_middleware

Client = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]


async def echo(request: web.Request) -> web.Response:
    return web.json_response(await read_json_object(request))


@pytest.fixture
async def client(aiohttp_client: Client) -> AsyncIterator[TestClient[Any, Any]]:
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/echo", echo)
    yield await aiohttp_client(app)


async def post(
    client: TestClient[Any, Any], data: Any, content_type: str | None
) -> tuple[int, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await client.post("/echo", data=data, headers=headers)
    return resp.status, await resp.json()


async def test_a_json_object_is_read(client: TestClient[Any, Any]) -> None:
    assert await post(client, b'{"a": [1, "\\u00e9"]}', "application/json") == (
        200,
        {"a": [1, "é"]},
    )
    assert (await post(client, b"{}", "application/json; charset=utf-8"))[0] == 200
    assert (await post(client, b"{}", "application/merge-patch+json"))[0] == 200


@pytest.mark.parametrize(
    ("data", "content_type", "status", "code"),
    [
        (b"{}", "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{}", None, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{}", "application/jsonx", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"{", "application/json", 400, "MALFORMED_JSON"),
        (b"", "application/json", 400, "MALFORMED_JSON"),
        (b'{"a": Infinity}', "application/json", 400, "MALFORMED_JSON"),
        (b"\xfe\xff", "application/json", 400, "MALFORMED_JSON"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 413, "BODY_TOO_LARGE"),
        (b"[" * 20_000 + b"]" * 20_000, "application/json", 400, "MALFORMED_JSON"),
        (b"[]", "application/json", 422, "VALIDATION_FAILED"),
        (b"42", "application/json", 422, "VALIDATION_FAILED"),
        (b"x" * (MAX_BODY_BYTES + 1), "application/json", 413, "BODY_TOO_LARGE"),
    ],
)
async def test_envelope_errors(
    client: TestClient[Any, Any], data: bytes, content_type: str | None, status: int, code: str
) -> None:
    answer_status, body = await post(client, data, content_type)
    assert (answer_status, body["error"]["code"]) == (status, code)


async def test_a_body_exactly_at_the_limit_is_read(client: TestClient[Any, Any]) -> None:
    padding = MAX_BODY_BYTES - len(b'{"p": ""}')
    status, body = await post(client, b'{"p": "' + b"x" * padding + b'"}', "application/json")
    assert status == 200 and len(body["p"]) == padding


async def test_a_chunked_body_over_the_limit_is_413(client: TestClient[Any, Any]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 4096  # JSON whitespace, 80 KiB in all, no Content-Length

    status, body = await post(client, chunks(), "application/json")
    assert (status, body["error"]["code"]) == (413, "BODY_TOO_LARGE")
