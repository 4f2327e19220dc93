"""Limits on ``/auth/login`` and ``/auth/signup``, all checked before any password hashing.

A password check costs about 57 ms of one core (scrypt, api/passwords.py): some 17
a second a core. Unchecked, 32 connections sending wrong passwords held the API at
36 logins/s on this 2-core machine, and orders slowed from ~12 ms to ~35 ms. Three
limits, each answered 429 ``RATE_LIMITED`` with ``Retry-After``:

- per client address: ``FLASHSALE_AUTH_RATE_LIMIT`` logins a minute, and as many
  sign-ups (0 turns both address and account limits off). A minute, not a second:
  members behind one NAT address log in in the minutes before a sale, not in one second;
- per account (the normalised email): ``ACCOUNT_LIMIT`` attempts a minute, right
  or wrong, so one account's password cannot be guessed at the address limit's pace;
- per API process: at most ``HASHING_SLOTS`` hashes at once and ``HASHING_QUEUE``
  waiting for one (api/hashing_slots.py). Neither limit above stops a flood from many
  addresses (credential stuffing); this one keeps such a flood to one core's worth of
  scrypt however many addresses send it, so the sale's requests keep the rest.

The address and account counters are one pipelined Redis round trip (fixed windows,
as api/ratelimit.py); if Redis is down the request goes on to the hashing slots,
which need no Redis. An address found over its allowance is then refused before its
body is read, without Redis, until the window ends (api/refused_addresses.py).
"""

from __future__ import annotations

import logging
import math
import time

from aiohttp import web
from redis.exceptions import RedisError

from api.app_keys import REDIS, REFUSED_ADDRESSES, SETTINGS
from api.errors import ApiError, rate_limited
from streams.redis_keys import auth_rate_key

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
ACCOUNT_LIMIT = 10


def refuse_a_known_flood(request: web.Request, action: str) -> None:
    """429 at once, before the body is read, for an address this process already saw
    go over its allowance in this window (api/refused_addresses.py)."""
    limit = request.app[SETTINGS].auth_rate_limit
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    if limit > 0 and request.app[REFUSED_ADDRESSES].holds(action, _address(request), window):
        raise _over_address_limit(action, limit, window, now)


async def enforce_auth_limits(request: web.Request, action: str, email: str) -> None:
    """Raise 429 when this address or this account has used up the window's attempts."""
    settings = request.app[SETTINGS]
    limit = settings.auth_rate_limit
    if limit <= 0:
        return
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    address = _address(request)
    by_address = auth_rate_key(settings, action, "address", address, window)
    by_account = auth_rate_key(settings, action, "account", email, window)
    try:
        async with request.app[REDIS].pipeline(transaction=False) as pipe:
            for key in (by_address, by_account):
                pipe.incr(key)
                pipe.expire(key, WINDOW_SECONDS + 1)
            from_address, _, for_account, _ = await pipe.execute()
    except (RedisError, OSError):
        log.warning("auth rate limiter unavailable; only the hashing slots apply")
        return
    if int(from_address) > limit:
        request.app[REFUSED_ADDRESSES].add(action, address, window)
        raise _over_address_limit(action, limit, window, now)
    if int(for_account) > ACCOUNT_LIMIT:
        message = f"more than {ACCOUNT_LIMIT} {action}s a minute for this account"
        raise rate_limited(_retry_after(window, now), message)


def _address(request: web.Request) -> str:
    return request.remote or "?"


def _retry_after(window: int, now: float) -> int:
    """Whole seconds until the window ends."""
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))


def _over_address_limit(action: str, limit: int, window: int, now: float) -> ApiError:
    message = f"more than {limit} {action}s a minute from this address"
    return rate_limited(_retry_after(window, now), message)
