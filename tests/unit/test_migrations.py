"""The schema files themselves: versioned, ordered, split into statements correctly."""

from __future__ import annotations

import re

import pytest

from storage.migrations import FILE_NAME, _statements, migration_files
from storage.mysql import MySQLConfig


def test_versions_are_unique_and_ordered() -> None:
    # schema_migrations is keyed by version: two files with one version cannot both apply.
    versions = [version for version, _, _ in migration_files()]
    assert versions
    assert versions == sorted(set(versions))
    assert versions[0] >= 1


def test_every_statement_has_sql_beyond_comments() -> None:
    # A comment line ending in ';' would become a statement of its own, which MySQL refuses.
    for version, name, sql in migration_files():
        statements = _statements(sql)
        assert statements, f"V{version:03d}__{name}.sql has no statement"
        for statement in statements:
            code = [line for line in statement.splitlines() if not line.strip().startswith("--")]
            assert "".join(code).strip(), f"V{version:03d}__{name}.sql: {statement!r}"


def test_tables_are_created_only_if_missing() -> None:
    # A half-applied migration (DDL commits as it goes) must be safe to run again.
    for version, _, sql in migration_files():
        for statement in _statements(sql):
            if re.search(r"\bCREATE\s+TABLE\b", statement, re.IGNORECASE):
                assert re.search(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS", statement, re.I), version


@pytest.mark.parametrize(
    "name, matches",
    [
        ("V001__members.sql", True),
        ("V012__add_index_2.sql", True),
        ("V1__short.sql", False),
        ("V001_one_underscore.sql", False),
        ("V001__members.sql.bak", False),
        ("__init__.py", False),
    ],
)
def test_file_names(name: str, matches: bool) -> None:
    assert bool(FILE_NAME.match(name)) is matches


def test_statements_split_at_line_ends_only() -> None:
    sql = "-- a comment\nCREATE TABLE a (x INT);\n\nCREATE TABLE b (n VARCHAR(9) DEFAULT 'a;b');\n"
    statements = _statements(sql)
    assert len(statements) == 2
    assert statements[0].startswith("-- a comment\nCREATE TABLE a")
    assert statements[1].endswith("DEFAULT 'a;b')")


def test_mysql_url_is_decoded() -> None:
    config = MySQLConfig.from_url("mysql://app%40x:p%2Fw@db.local/flashsale_t1")
    assert config == MySQLConfig("db.local", 3306, "app@x", "p/w", "flashsale_t1")
    assert config.with_database("other").database == "other"


def test_a_non_mysql_url_is_refused() -> None:
    with pytest.raises(ValueError):
        MySQLConfig.from_url("postgres://u:p@127.0.0.1/flashsale")
