"""Typed keys for what the aiohttp app holds (settings, clients, registries)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from api.group_commit import GroupCommit
from api.hashing_slots import HashingSlots
from api.kafka import CommandProducer
from api.metrics import ApiMetrics
from api.outcomes import OutcomeListener
from api.pushed_state import PushedState
from api.recent_products import RecentProducts
from api.refused_addresses import RefusedAddresses
from api.token_versions import TokenVersions
from api.tokens import VerifiedTokens
from api.units_in_flight import UnitsInFlight
from storage.mysql import Database
from streams.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
REDIS = web.AppKey("redis", Redis)
PRODUCER = web.AppKey("producer", CommandProducer)
REGISTRY = web.AppKey("registry", CollectorRegistry)
LISTENER = web.AppKey("listener", OutcomeListener)
UNITS_IN_FLIGHT = web.AppKey("units_in_flight", UnitsInFlight)
METRICS = web.AppKey("metrics", ApiMetrics)
SIGNING_SECRET = web.AppKey("signing_secret", str)
TOKEN_VERSIONS = web.AppKey("token_versions", TokenVersions)
RECENT_PRODUCTS = web.AppKey("recent_products", RecentProducts)
HASHING_SLOTS = web.AppKey("hashing_slots", HashingSlots)
REFUSED_ADDRESSES = web.AppKey("refused_addresses", RefusedAddresses)
VERIFIED_TOKENS = web.AppKey("verified_tokens", VerifiedTokens)
PUSHED_STATE = web.AppKey("pushed_state", PushedState)
# ReserveOrders by product (api/order_produces.py); decided orders to project (one queue).
ORDER_PRODUCES = web.AppKey("order_produces", GroupCommit)
DECISION_WRITES = web.AppKey("decision_writes", GroupCommit)
