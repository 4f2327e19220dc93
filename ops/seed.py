"""``flashsale-admin seed-members``: many members at once, each with an access token.

For load tests and demos: one bulk INSERT (``executemany``, batched) instead of N
sign-ups. Every seeded member shares ONE password hash, computed once (scrypt
costs ~50 ms a call, so hashing per member would take minutes); the password is
random unless ``--password`` is given, so seeded accounts cannot be logged into
by default and are meant to be used through the printed tokens. Like a login,
it writes each member's token version to Redis for the tokens' lifetime, so
the first request of each member costs the API no MySQL round trip.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator

import redis

from api import tokens
from api.passwords import hash_password
from storage import members as member_sql
from storage.mysql import MySQLConfig, connect
from storage.token_version_store import raise_versions
from streams.redis_keys import token_version_key
from streams.settings import Settings

log = logging.getLogger(__name__)

BATCH = 2000
MAX_COUNT = 1_000_000
MAX_TTL = 365 * 24 * 3600
PREFIX = re.compile(r"^[a-z0-9._+-]{1,64}$")


def seed_emails(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}@seed.example" for n in range(1, count + 1)]


def insert_members(settings: Settings, emails: list[str], password_hash: str) -> dict[str, int]:
    """Insert all members in one transaction; their ids by email."""
    conn = connect(MySQLConfig.from_url(settings.mysql_url))
    try:
        with conn.cursor() as cur:
            for start in range(0, len(emails), BATCH):
                chunk = emails[start : start + BATCH]
                rows = [(email, email.split("@")[0], password_hash) for email in chunk]
                member_sql.create_many(cur, rows)
            ids = member_sql.ids_by_email(cur, emails)
        conn.commit()
    finally:
        conn.close()
    return ids


def seed_members(
    settings: Settings, count: int, prefix: str, ttl: int, password: str | None
) -> Iterator[str]:
    """JSON lines {"member_id", "email", "access_token"}, one per new member."""
    secret = settings.signing_secret()
    emails = seed_emails(prefix, count)
    ids = insert_members(settings, emails, hash_password(password or secrets.token_urlsafe(24)))
    publish_versions(settings, list(ids.values()), ttl)
    for email in emails:
        member_id = ids[email]
        token = tokens.issue(secret, member_id, "member", 0, tokens.ACCESS, ttl)
        yield json.dumps({"member_id": member_id, "email": email, "access_token": token})


def publish_versions(settings: Settings, member_ids: list[int], ttl: int) -> None:
    """Version 0 of new members in Redis; without it the API reads MySQL instead."""
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5.0)
    try:
        for start in range(0, len(member_ids), BATCH):
            chunk = member_ids[start : start + BATCH]
            raise_versions(client, [(token_version_key(settings, m), 0) for m in chunk], ttl)
    except (redis.RedisError, OSError) as exc:
        log.warning("token versions not written to Redis (%s); the API will read MySQL", exc)
    finally:
        client.close()


def _prefix(raw: str) -> str:
    prefix = raw.strip().lower()
    if not PREFIX.match(prefix):
        raise argparse.ArgumentTypeError("use 1-64 of a-z 0-9 . _ + -")
    return prefix


def add_seed_parser(sub: argparse._SubParsersAction) -> None:
    seed = sub.add_parser("seed-members", help="bulk-create members, print JSON lines with tokens")
    seed.add_argument("--count", type=int, required=True, help="how many members")
    seed.add_argument(
        "--prefix", type=_prefix, default=None, help="email prefix (default: seed-<random>-)"
    )
    seed.add_argument(
        "--ttl", type=int, default=tokens.ACCESS_TTL_SECONDS, help="access token lifetime (s)"
    )
    seed.add_argument("--password", default=None, help="shared password (default: random)")


def run_seed(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.count <= MAX_COUNT or not 1 <= args.ttl <= MAX_TTL:
        print(f"--count must be 1..{MAX_COUNT} and --ttl 1..{MAX_TTL}", file=sys.stderr)
        return 2
    prefix = args.prefix or f"seed-{secrets.token_hex(3)}-"
    try:
        lines = list(seed_members(settings, args.count, prefix, args.ttl, args.password))
    except member_sql.EmailTaken as exc:
        print(f"an email is taken ({exc}); choose another --prefix", file=sys.stderr)
        return 1
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
