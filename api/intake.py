"""The one Redis round trip of an order that goes to Kafka (topology.md, "The API's side").

One Lua script does, in this order, what used to take four round trips:

1. the token's version against the member's current one (``logout-all``);
2. the member's rate limit: api/ratelimit.py's window key and rule;
3. with an Idempotency-Key: the key's order if already decided (returned as is),
   then the claim of the key for this product (``SET NX``, 24 h): the key's order id
   comes from member and key, but only the product's stock agent sees a repeat as
   one, so a reuse of the key for another product gets the key's order back
   (202 PENDING) and produces nothing;
4. the order's PENDING projection (storage/order_projection.py's rule: never over
   a later status), written before the produce so a 202 needs no second trip;
   ``fresh`` says it was new, so a produce Kafka refuses takes it back.

In ``SOLD_OUT`` mode (a request with an Idempotency-Key for a product known to
be sold out) it stops after the lookup of 3: the decided order, or SOLD_OUT.
Redis errors reach the caller, which then does each step the old way (each of
them lets the order through when Redis is down). ``check_admission`` turns the
verdicts that refuse the order into their errors (no I/O).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from api.auth import unauthenticated
from api.errors import rate_limited, unavailable
from api.ratelimit import WINDOW_TTL_SECONDS
from api.token_versions import TokenVersions
from api.tokens import Claims
from storage.order_projection import ORDER_TTL_SECONDS, projection_entry, typed_order
from streams.redis_keys import idempotency_key, order_status_key, rate_key, token_version_key
from streams.settings import Settings

# Verdicts
OK = "OK"
NO_VERSION = "NO_VERSION"  # Redis has no version for the member: ask MySQL
VERSION = "VERSION"  # the member's version is not the token's
RATE_LIMITED = "RATE_LIMITED"
DECIDED = "DECIDED"  # the Idempotency-Key's order is decided: answer it
OTHER_PRODUCT = "OTHER_PRODUCT"  # the key's order is for another product: answer it PENDING
SOLD_OUT = "SOLD_OUT"
UNPRODUCED = (DECIDED, SOLD_OUT, OTHER_PRODUCT)  # answered without a produce

# KEYS: 1 token version, 2 rate window, 3 idempotency claim, 4 order hash.
# ARGV: 1 token version ('' = checked already), 2 rate limit (0 = off or counted already),
# 3 window ttl, 4 '1' if the request has an Idempotency-Key, 5 product id, 6 claim ttl,
# 7 mode ('ORDER' | 'SOLD_OUT'), 8 the order hash's ttl, then projection_entry: 9 rank,
# 10 hold member, 11 hold (none for PENDING), 12.. field, value pairs.
INTAKE = """
if ARGV[1] ~= '' then
  local stored = redis.call('GET', KEYS[1])
  if not stored then return {'NO_VERSION'} end
  if stored ~= ARGV[1] then return {'VERSION', stored} end
end
local limit = tonumber(ARGV[2])
if limit > 0 then
  local count = redis.call('INCR', KEYS[2])
  if count == 1 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
  if count > limit then return {'RATE_LIMITED'} end
end
if ARGV[4] == '1' then
  local status = redis.call('HGET', KEYS[4], 'status')
  if status and status ~= 'PENDING' then return {'DECIDED', redis.call('HGETALL', KEYS[4])} end
  if ARGV[7] == 'SOLD_OUT' then return {'SOLD_OUT'} end
  local earlier = redis.call('SET', KEYS[3], ARGV[5], 'NX', 'GET', 'EX', ARGV[6])
  if earlier and earlier ~= ARGV[5] then return {'OTHER_PRODUCT'} end
end
if ARGV[7] == 'SOLD_OUT' then return {'SOLD_OUT'} end
local rank = redis.call('HGET', KEYS[4], 'rank')
if rank and tonumber(rank) > tonumber(ARGV[9]) then return {'OK', '0'} end
redis.call('HSET', KEYS[4], 'rank', ARGV[9], unpack(ARGV, 12))
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[8]))
return {'OK', rank and '0' or '1'}
"""


@dataclass(frozen=True)
class Admission:
    verdict: str
    version: int | None = None  # with VERSION: the member's current version
    order: dict[str, Any] | None = None  # with DECIDED: the key's order
    fresh: bool = False  # with OK: the PENDING projection was written by this request


async def admit(
    redis: Redis,
    settings: Settings,
    pending: dict[str, Any],
    token_version: int | None,
    rate_limit: int,
    idempotent: bool,
    sold_out: bool = False,
) -> Admission:
    """Run the intake script for the PENDING order ``pending`` (one round trip).

    ``token_version`` None: already checked; ``rate_limit`` 0: off or already counted.
    """
    member_id, order_id = pending["member_id"], pending["order_id"]
    window = int(pending["created_at"])
    keys = [
        token_version_key(settings, member_id),
        rate_key(settings, member_id, window),
        idempotency_key(settings, order_id),
        order_status_key(settings, order_id),
    ]
    args = [
        "" if token_version is None else str(token_version),
        str(rate_limit),
        str(WINDOW_TTL_SECONDS),
        "1" if idempotent else "0",
        str(pending["product_id"]),
        str(ORDER_TTL_SECONDS),
        SOLD_OUT if sold_out else "ORDER",
        str(ORDER_TTL_SECONDS),
        *projection_entry(pending),
    ]
    reply = await redis.register_script(INTAKE)(keys=keys, args=args)
    verdict = reply[0]
    if verdict == VERSION:
        return Admission(VERSION, version=int(reply[1]))
    if verdict == DECIDED:
        flat = reply[1]
        return Admission(DECIDED, order=typed_order(dict(zip(flat[::2], flat[1::2], strict=True))))
    if verdict == OK:
        return Admission(OK, fresh=reply[1] == "1")
    return Admission(verdict)


def check_admission(
    admission: Admission,
    claims: Claims,
    token_version: int | None,
    settings: Settings,
    versions: TokenVersions,
    created_at: float,
) -> None:
    """Raise the refusal a verdict stands for: 401 for a revoked token or an unknown
    member, 429 over the rate limit (Retry-After: the window's end), 503 for an
    Idempotency-Key whose order is another member's (a uuid5 collision). The version
    read or checked by the script goes to the in-process cache."""
    if admission.verdict == VERSION:
        assert admission.version is not None
        versions.remember(claims.member_id, admission.version)
        if claims.version < admission.version:
            raise unauthenticated("TOKEN_REVOKED", "the token has been revoked")
        raise unauthenticated(message="unknown member")
    if admission.verdict == RATE_LIMITED:
        retry_after = max(1, math.ceil(int(created_at) + 1 - time.time()))
        raise rate_limited(retry_after, f"more than {settings.rate_limit} requests per second")
    if admission.verdict == DECIDED:
        assert admission.order is not None
        if admission.order["member_id"] != claims.member_id:
            raise unavailable("this Idempotency-Key cannot be used")
    if token_version is not None:
        versions.remember(claims.member_id, token_version)
