"""The aiohttp application factory: ``create_app(settings)``.

Clients (Kafka producer, Redis, MySQL pool) are opened and closed in cleanup
contexts; routes are registered by each feature module's ``setup_*_routes``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CollectorRegistry

from api.app_keys import (
    DATABASE,
    LISTENER,
    METRICS,
    PRODUCER,
    RECENT_PRODUCTS,
    REDIS,
    REGISTRY,
    SETTINGS,
    UNITS_IN_FLIGHT,
)
from api.checkout import setup_checkout_routes
from api.errors import error_middleware
from api.health import setup_health_routes
from api.kafka import CommandProducer
from api.members import setup_member_routes
from api.metrics import ApiMetrics, metrics_middleware
from api.openapi import setup_openapi_routes
from api.orders import setup_order_routes
from api.outcomes import OutcomeListener
from api.products import setup_product_routes
from api.recent_products import RecentProducts
from api.units_in_flight import UnitsInFlight
from storage.migrations import apply_migrations
from storage.mysql import Database
from storage.redis import create_redis
from streams.settings import Settings
from streams.topics import ORDER_EVENTS

MAX_BODY_BYTES = 64 * 1024
# Kafka down at start: the API still starts (answering 503) rather than never.
LISTENER_READY_SECONDS = 10.0


async def _clients(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    app[DATABASE] = Database(settings.mysql_url)
    app[REDIS] = create_redis(settings.redis_url)
    app[PRODUCER] = CommandProducer(settings.kafka_bootstrap, on_sent=app[METRICS].produced)
    app[UNITS_IN_FLIGHT] = UnitsInFlight(settings.api_processes)
    app[LISTENER] = OutcomeListener(
        settings.kafka_bootstrap, ORDER_EVENTS.name(settings), app[UNITS_IN_FLIGHT]
    )
    app[LISTENER].start()
    # The process binds the API port after this: a request taken before the listener
    # has its positions could miss its decision and wait in vain.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(app[LISTENER].ready.wait(), LISTENER_READY_SECONDS)
    yield
    await app[LISTENER].stop()
    await app[PRODUCER].close()
    await app[REDIS].aclose()
    app[DATABASE].close()


async def _schema(app: web.Application) -> AsyncIterator[None]:
    await app[DATABASE].run(lambda _cur: apply_migrations(app[SETTINGS].mysql_url))
    yield


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> web.Application:
    registry = registry if registry is not None else CollectorRegistry()
    metrics = ApiMetrics(registry)
    app = web.Application(
        middlewares=[metrics_middleware(metrics), error_middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[REGISTRY] = registry
    app[METRICS] = metrics
    app[RECENT_PRODUCTS] = RecentProducts()
    app.cleanup_ctx.append(_clients)
    app.cleanup_ctx.append(_schema)
    setup_health_routes(app)
    setup_member_routes(app)
    setup_product_routes(app)
    setup_openapi_routes(app)
    setup_order_routes(app)
    setup_checkout_routes(app)
    return app
