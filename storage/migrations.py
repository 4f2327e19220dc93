"""Versioned schema migrations: ``storage/schema/V<NNN>__<name>.sql``, each applied once.

Safe to call from every process at start-up: a MySQL named lock serialises
concurrent callers and ``schema_migrations`` records what has been applied, so a
second run is a no-op.
"""

from __future__ import annotations

import re
from importlib import resources

from storage.mysql import MySQLConfig, connect

FILE_NAME = re.compile(r"^V(\d{3})__(\w+)\.sql$")
LOCK_NAME = "flashsale_schema_migrations"


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every schema file, in version order."""
    found = []
    for entry in resources.files("storage.schema").iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def _statements(sql: str) -> list[str]:
    # Our schema files keep one statement per ';'-terminated line group.
    return [s.strip() for s in sql.split(";\n") if s.strip().strip(";")]


def apply_migrations(mysql_url: str) -> list[int]:
    """Apply what is missing; the versions applied by this call."""
    config = MySQLConfig.from_url(mysql_url)
    conn = connect(config)
    applied_now = []
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 60) AS got", (LOCK_NAME,))
            row = cur.fetchone()
            if not row or not row["got"]:
                raise RuntimeError("timed out waiting for the schema migration lock")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INT PRIMARY KEY, name VARCHAR(100) NOT NULL,"
                " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {row["version"] for row in cur.fetchall()}
            for version, name, sql in migration_files():
                if version in done:
                    continue
                for statement in _statements(sql):
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (version, name),
                )
                conn.commit()
                applied_now.append(version)
            cur.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
    finally:
        conn.close()
    return applied_now
