"""The committed schemas (schemas/) are what ops/record_schemas.py derives from the records."""

from __future__ import annotations

import jsonschema

from ops.record_schemas import main, schemas


def test_the_committed_schemas_are_up_to_date() -> None:
    assert main(["--check"]) == 0, "run: .venv/bin/python -m ops.record_schemas"


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    for schema in schemas().values():
        jsonschema.Draft202012Validator.check_schema(schema)
