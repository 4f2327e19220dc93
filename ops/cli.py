"""The operator CLI, ``flashsale-admin``: schema, topics, members, audits.

It acts on the stack ``make up`` started from this directory: its settings come
from the environment over ``.run/stack.env`` (ops/stack_env.py). An operator's
mistake (a missing setting, a server that does not answer) is one line on stderr
and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from collections.abc import Callable
from typing import TextIO

import pymysql
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from ops import processes
from ops.audit import add_audit_parser, run_audit_command
from ops.seed import add_seed_parser, run_seed
from ops.stack_env import operator_settings
from storage.migrations import apply_migrations
from streams.admin import TopicsError, ensure_topics
from streams.settings import Settings, SettingsError


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    applied = apply_migrations(settings.mysql_url)
    print(f"applied migrations: {applied or 'none, schema up to date'}")
    return 0


def _create_topics(settings: Settings, args: argparse.Namespace) -> int:
    try:
        created = asyncio.run(ensure_topics(settings, wait_seconds=args.wait))
    except TopicsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created topics: {', '.join(created) or 'none, all exist'}")
    return 0


Command = Callable[[Settings, argparse.Namespace], int]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(prog="flashsale-admin", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the versioned MySQL schema")
    topics = sub.add_parser(
        "create-topics", help="create the Kafka topics with FLASHSALE_PARTITIONS"
    )
    topics.add_argument(
        "--wait",
        type=float,
        default=30.0,
        help="seconds to wait for enough brokers to hold FLASHSALE_REPLICATION_FACTOR replicas",
    )
    add_seed_parser(sub)
    add_audit_parser(sub)
    return parser, {
        "migrate": _migrate,
        "create-topics": _create_topics,
        "seed-members": run_seed,
        "audit": run_audit_command,
    }


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    # The dev secret's warning, without the source line Python would print under it.
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    warnings.showwarning = _one_line_warning
    try:
        return commands[args.command](operator_settings(processes.RUN_DIR), args)
    except SettingsError as exc:
        print(f"flashsale-admin: {exc}", file=sys.stderr)
        return 2
    except (pymysql.MySQLError, RedisError, KafkaError, OSError) as exc:
        print(f"flashsale-admin {args.command}: a server did not answer: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
