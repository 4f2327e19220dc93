"""SQL of the ``members`` table: sign-up, look-ups and token versions.

Functions take a pymysql cursor and run inside the caller's transaction
(``await db.run(lambda cur: members.by_email(cur, email))``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pymysql

from storage.mysql import Cursor
from streams.shapes import ORDER_FIELDS

DUPLICATE_KEY = 1062
Row = dict[str, Any]


class EmailTaken(Exception):
    """Another member already has this (normalised) email."""


def create(cur: Cursor, email: str, name: str, password_hash: str, role: str = "member") -> int:
    try:
        cur.execute(
            "INSERT INTO members (email, name, role, password_hash) VALUES (%s, %s, %s, %s)",
            (email, name, role, password_hash),
        )
    except pymysql.IntegrityError as exc:
        if exc.args and exc.args[0] == DUPLICATE_KEY:
            raise EmailTaken(email) from exc
        raise
    return int(cur.lastrowid)


def create_many(cur: Cursor, rows: Sequence[tuple[str, str, str]]) -> None:
    """Bulk insert (email, name, password_hash) members; one multi-row INSERT per batch."""
    try:
        cur.executemany(
            "INSERT INTO members (email, name, password_hash) VALUES (%s, %s, %s)", rows
        )
    except pymysql.IntegrityError as exc:
        if exc.args and exc.args[0] == DUPLICATE_KEY:
            raise EmailTaken(str(exc.args[1])) from exc
        raise


def ids_by_email(cur: Cursor, emails: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(emails), 1000):
        chunk = emails[start : start + 1000]
        marks = ", ".join(["%s"] * len(chunk))
        cur.execute(f"SELECT member_id, email FROM members WHERE email IN ({marks})", chunk)
        found.update({row["email"]: int(row["member_id"]) for row in cur.fetchall()})
    return found


def by_email(cur: Cursor, email: str) -> Row | None:
    cur.execute(
        "SELECT member_id, email, name, role, password_hash, token_version"
        " FROM members WHERE email = %s",
        (email,),
    )
    return cur.fetchone()


def by_id(cur: Cursor, member_id: int) -> Row | None:
    cur.execute(
        "SELECT member_id, email, name, role, token_version FROM members WHERE member_id = %s",
        (member_id,),
    )
    return cur.fetchone()


def token_version(cur: Cursor, member_id: int) -> int | None:
    cur.execute("SELECT token_version FROM members WHERE member_id = %s", (member_id,))
    row = cur.fetchone()
    return None if row is None else int(row["token_version"])


def bump_token_version(cur: Cursor, member_id: int) -> int:
    """Revoke every token issued so far; the new version."""
    cur.execute(
        "UPDATE members SET token_version = token_version + 1 WHERE member_id = %s", (member_id,)
    )
    version = token_version(cur, member_id)
    if version is None:
        raise LookupError(f"member {member_id} does not exist")
    return version


def orders_of(cur: Cursor, member_id: int) -> list[Row]:
    """The member's orders from MySQL, newest first (the contract's Order columns)."""
    cur.execute(
        f"SELECT {', '.join(ORDER_FIELDS)} FROM orders"
        " WHERE member_id = %s ORDER BY created_at DESC, order_id DESC",
        (member_id,),
    )
    return list(cur.fetchall())
