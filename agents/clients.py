"""The worker's shared clients, opened once per process on first use."""

from __future__ import annotations

import functools

from redis.asyncio import Redis

from storage.mysql import Database
from storage.redis import create_redis
from streams.app import settings


@functools.cache
def redis_client() -> Redis:
    return create_redis(settings.redis_url)


@functools.cache
def database() -> Database:
    return Database(settings.mysql_url, size=4)


@functools.cache
def gateway_database() -> Database:
    # Its own pool: concurrent payments must not queue behind batch writes.
    return Database(settings.mysql_url, size=8)


@functools.cache
def persistence_database() -> Database:
    return Database(settings.mysql_url, size=2)
