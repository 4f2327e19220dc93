"""Liveness, readiness (Kafka, Redis and MySQL really answer) and Prometheus metrics.

Served on the API port and, for an API process ``make up`` numbered, on the
process's own port too (``create_status_app``): the API port reaches whichever
process the kernel picks, the own port always this one.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.app_keys import DATABASE, PRODUCER, REDIS, REGISTRY
from storage.redis import redis_ok


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    return await _readiness(request.app)


async def metrics(request: web.Request) -> web.Response:
    return _metrics(request.app)


async def _readiness(app: web.Application) -> web.Response:
    kafka, redis, mysql = await asyncio.gather(
        app[PRODUCER].ping(), redis_ok(app[REDIS]), app[DATABASE].ping()
    )
    checks = {"kafka": kafka, "redis": redis, "mysql": mysql}
    if all(checks.values()):
        return web.json_response({"status": "ok", "checks": checks})
    return web.json_response({"status": "unavailable", "checks": checks}, status=503)


def _metrics(app: web.Application) -> web.Response:
    body = generate_latest(app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)


def create_status_app(app: web.Application) -> web.Application:
    """``/healthz``, ``/readyz`` and ``/metrics`` of ``app``'s process, for its own port."""

    async def own_readyz(request: web.Request) -> web.Response:
        return await _readiness(app)

    async def own_metrics(request: web.Request) -> web.Response:
        return _metrics(app)

    status = web.Application()
    status.router.add_get("/healthz", healthz)
    status.router.add_get("/readyz", own_readyz)
    status.router.add_get("/metrics", own_metrics)
    return status
