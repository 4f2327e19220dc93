"""Cost of checking a Bearer token on the hot path (``api.auth.require_member``).

Run: ``.venv/bin/python -m bench.token_check [--n 20000]`` (needs the running Redis).

Measures, per request: the token's verification (HS256 once per token string,
then ``api.tokens.VerifiedTokens`` answers, as in the API) plus the token-version
check, (a) when the 1 s in-process cache answers (the steady state under load: one
Redis read per member per second) and (b) when every check goes to Redis (cache
disabled).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from api import auth, token_versions, tokens
from api.app_keys import SIGNING_SECRET, TOKEN_VERSIONS, VERIFIED_TOKENS
from storage.mysql import Database
from storage.redis import create_redis
from streams.redis_keys import token_version_key
from streams.settings import Settings

SECRET = "bench-secret-" + "b" * 40


async def per_check_us(app: web.Application, token: str, n: int) -> float:
    request = make_mocked_request(
        "GET", "/me", headers={"Authorization": f"Bearer {token}"}, app=app
    )
    await auth.require_member(request)  # warm up
    started = time.perf_counter()
    for _ in range(n):
        await auth.require_member(request)
    return (time.perf_counter() - started) / n * 1e6


async def measure(n: int) -> None:
    settings = Settings.from_env(
        env="prod", jwt_secret=SECRET, app_id=f"bench{uuid.uuid4().hex[:8]}"
    )
    redis = create_redis(settings.redis_url)
    member_id = 1
    await redis.set(token_version_key(settings, member_id), 0, ex=60)
    app = web.Application()
    app[SIGNING_SECRET] = SECRET
    app[VERIFIED_TOKENS] = tokens.VerifiedTokens(SECRET)
    app[TOKEN_VERSIONS] = token_versions.TokenVersions(
        settings, redis, Database(settings.mysql_url)
    )
    token = tokens.issue(SECRET, member_id, "member", 0)
    try:
        cached = await per_check_us(app, token, n)
        app[TOKEN_VERSIONS] = token_versions.TokenVersions(  # every check reads Redis
            settings, redis, Database(settings.mysql_url), cache_seconds=0.0
        )
        uncached = await per_check_us(app, token, max(1, n // 4))
    finally:
        await redis.delete(token_version_key(settings, member_id))
        await redis.aclose()
    print(f"token check, in-process cache hit: {cached:.1f} us per request")
    print(f"token check, Redis read each time: {uncached:.1f} us per request")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="checks with the cache answering")
    asyncio.run(measure(parser.parse_args(argv).n))


if __name__ == "__main__":
    main()
