"""Serves the API description, ``api/openapi.yaml`` (OpenAPI 3.1), at ``GET /openapi.yaml``."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

OPENAPI_FILE = "openapi.yaml"


def openapi_text() -> str:
    return resources.files("api").joinpath(OPENAPI_FILE).read_text(encoding="utf-8")


async def openapi_document(request: web.Request) -> web.Response:
    return web.Response(text=openapi_text(), content_type="application/yaml")


def setup_openapi_routes(app: web.Application) -> None:
    app.router.add_get("/openapi.yaml", openapi_document)
