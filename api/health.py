"""Liveness, readiness (Kafka, Redis and MySQL really answer) and Prometheus metrics."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.keys import DATABASE, PRODUCER, REDIS, REGISTRY
from storage.redis import redis_ok


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    kafka, redis, mysql = await asyncio.gather(
        app[PRODUCER].ping(), redis_ok(app[REDIS]), app[DATABASE].ping()
    )
    checks = {"kafka": kafka, "redis": redis, "mysql": mysql}
    if all(checks.values()):
        return web.json_response({"status": "ok", "checks": checks})
    return web.json_response({"status": "unavailable", "checks": checks}, status=503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_health_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
