"""JSON Schemas of the topics' records, for outside consumers: ``python -m ops.record_schemas``.

The files under ``schemas/`` (one a topic) are derived here from the one definition
of each record (streams/records.py: field names, types, which may be null) and from
the vocabularies the agents write (event names, statuses, reasons, operations), so
they cannot say something the code does not. ``--check`` exits 1 when a committed
file differs from what this module derives (a test runs it); without it, the files
are written. tests/integration/test_analytics.py validates a real sale's records
against the committed files.

The schemas are exact (``additionalProperties: false``): a field added to a record
shows up here as a change to review, and consumers should still ignore fields they
do not know.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from pathlib import Path
from typing import Any

from agents import checkout_rules, stock_rules
from agents.payment_gateway import FAILED, OPERATIONS, SUCCEEDED
from agents.payment_requests import PAYMENT_EVENT_NAMES
from streams import records
from streams.statuses import PENDING, REJECTION_REASONS, STATUS_RANK

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean"}

ORDER_EVENT_NAMES = (
    stock_rules.ORDER_RESERVED,
    stock_rules.ORDER_REJECTED,
    checkout_rules.PAYMENT_REQUESTED,
    checkout_rules.ORDER_PAID,
    checkout_rules.ORDER_PAYMENT_FAILED,
    checkout_rules.ORDER_CANCELLED,
    checkout_rules.ORDER_EXPIRED,
    checkout_rules.REFUND_REQUESTED,
    checkout_rules.ORDER_REFUNDED,
)
# Fields whose values come from a closed vocabulary, per record.
ENUMS: dict[type, dict[str, list[Any]]] = {
    records.OrderEvent: {
        "event": list(ORDER_EVENT_NAMES),
        "status": sorted(s for s in STATUS_RANK if s != PENDING),
        "reason": [*sorted(REJECTION_REASONS), None],
    },
    records.PaymentEvent: {
        "event": list(PAYMENT_EVENT_NAMES),
        "operation": sorted(OPERATIONS),
        "status": [SUCCEEDED, FAILED],
    },
    records.SettlePayment: {"operation": sorted(OPERATIONS)},
}


def field_schema(annotation: Any) -> dict[str, Any]:
    """``int`` -> integer, ``float | None`` -> number or null, and so on."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list:  # a CommandBatch's commands (see schemas())
        return {"type": "array"}
    if args:  # an optional field: X | None
        (kind,) = [a for a in args if a is not type(None)]
        return {"type": [JSON_TYPES[kind], "null"]}
    return {"type": JSON_TYPES[annotation]}


def record_schema(cls: type[records._Json]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    names = list(cls._options.fields)
    properties = {name: field_schema(hints[name]) for name in names}
    for name, values in ENUMS.get(cls, {}).items():
        properties[name]["enum"] = values
    if "kind" in properties:
        properties["kind"] = {"const": cls.__name__}
    return {
        "title": cls.__name__,
        "description": " ".join((cls.__doc__ or "").split()),
        "type": "object",
        "properties": properties,
        "required": names,
        "additionalProperties": False,
    }


def topic_schema(topic: str, description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": f"urn:flashsale:schema:{topic}",
        **body,
        "description": description,
    }


def schemas() -> dict[str, dict[str, Any]]:
    """Every schema file, by file name."""
    kinds = [cls for cls in records.COMMANDS.values() if cls is not records.CommandBatch]
    bare = [record_schema(cls) for cls in kinds]
    batch = record_schema(records.CommandBatch)
    batch["properties"]["commands"].update(
        {"items": {"oneOf": bare}, "minItems": 1, "maxItems": records.MAX_BATCH_COMMANDS}
    )
    commands = [*bare, batch]
    return {
        "stock-commands.schema.json": topic_schema(
            "stock-commands",
            "A value on <app_id>.stock-commands (key: product id): one command, told apart"
            " by kind, or a CommandBatch of several for that product, decided in list"
            " order. Times are epoch seconds.",
            {"title": "StockCommand", "oneOf": commands},
        ),
        "order-events.schema.json": topic_schema(
            "order-events",
            "A value on <app_id>.order-events (key: product id): one transition of one"
            " order. At least once: dedupe by (order_id, status). Times are epoch seconds.",
            record_schema(records.OrderEvent),
        ),
        "payment-events.schema.json": topic_schema(
            "payment-events",
            "A value on <app_id>.payment-events (key: order id): the gateway's answer to a"
            " charge or refund. At least once: dedupe by payment_id. Times are epoch seconds.",
            record_schema(records.PaymentEvent),
        ),
    }


def rendered(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.record_schemas", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, schema in schemas().items():
        path = SCHEMA_DIR / name
        text = rendered(schema)
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(name)
            if not args.check:
                SCHEMA_DIR.mkdir(exist_ok=True)
                path.write_text(text)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python -m ops.record_schemas", file=sys.stderr)
        return 1
    print(f"{'wrote' if stale else 'up to date'}: {', '.join(stale) or 'every schema'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
