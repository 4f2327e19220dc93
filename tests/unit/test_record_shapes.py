"""Every layer carries the order's and the payment's fields as streams/shapes.py defines
them, plus only what it declares below as its own; the MySQL schema, the OpenAPI
document and the committed JSON Schemas say the same. A field added, dropped or
renamed in one place only fails here."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import yaml

from agents.payment_gateway import GatewayResult
from agents.payment_requests import PaymentRequest, payment_event
from agents.stock_state import Located, order_event
from api.members import order_view
from api.order_views import order_body
from storage import members as member_sql
from storage import order_projection, order_rows, orders, payment_rows
from storage.migrations import migration_files
from streams.records import OrderEvent, PaymentEvent
from streams.shapes import (
    ORDER_FIELDS,
    ORDER_TIMES,
    ORDER_TYPES,
    PAYMENT_FIELDS,
    PAYMENT_TYPES,
    base_type,
    is_optional,
)
from tables.stock_records import Order, order_from_record, order_to_record

ROOT = Path(__file__).resolve().parents[2]

# What each layer adds to the order, and nothing else.
EVENT_FIRST = ("event",)
EVENT_LAST = ("command_partition", "command_offset", "command_index")
TABLE_OWN = ("payment", "events")
ROW_OWN = ("status_rank",)
# What the payments row does with the payment's fields.
PAYMENT_NOT_STORED = ("product_id", "member_id")
PAYMENT_COLUMN_OF = {"operation": "kind", "at": "created_at"}

ORDER = {
    "order_id": "0190c2a0-0000-7000-8000-000000000001",
    "member_id": 7,
    "product_id": 3,
    "qty": 2,
    "amount": 10000,
    "status": "REJECTED",
    "reason": "SOLD_OUT",
    "created_at": 1700000000.25,
    "updated_at": 1700000001.5,
    "expires_at": 1700000300.25,
}
PAYMENT = {
    "payment_id": "8c7d6f52-0000-5000-8000-000000000001",
    "order_id": ORDER["order_id"],
    "product_id": 3,
    "member_id": 7,
    "operation": "CHARGE",
    "status": "SUCCEEDED",
    "amount": 10000,
    "at": 1700000002.75,
}


def _fields(record: Any) -> tuple[str, ...]:
    return tuple(record._options.fields)


def _committed_schema(topic: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "schemas" / f"{topic}.schema.json").read_text())
    return loaded


def _sql_columns(table: str) -> tuple[str, ...]:
    """The table's columns after every migration (storage/schema/V*.sql), in order."""
    columns: list[str] = []
    for _, _, sql in migration_files():
        created = re.search(
            rf"CREATE TABLE (?:IF NOT EXISTS )?{table} \((.*?)\n\)", sql, re.DOTALL | re.I
        )
        if created:
            for line in created[1].strip().splitlines():
                name = line.strip().split()[0]
                if name.upper() not in {"KEY", "PRIMARY", "UNIQUE", "INDEX", "CONSTRAINT"}:
                    columns.append(name.strip("`"))
        for altered in re.findall(rf"ALTER TABLE {table}\b(.*?);", sql, re.DOTALL | re.I):
            columns += re.findall(r"ADD COLUMN (?:IF NOT EXISTS )?`?(\w+)", altered, re.I)
            for dropped in re.findall(r"DROP COLUMN (?:IF EXISTS )?`?(\w+)", altered, re.I):
                columns.remove(dropped)
    assert columns, f"no table {table} in storage/schema"
    return tuple(columns)


def test_the_sample_order_has_every_field() -> None:
    assert tuple(ORDER) == ORDER_FIELDS
    assert tuple(PAYMENT) == PAYMENT_FIELDS


def test_the_order_event_is_its_name_the_order_and_the_commands_place() -> None:
    expected = (*EVENT_FIRST, *ORDER_FIELDS, *EVENT_LAST)
    assert _fields(OrderEvent) == expected
    assert {name: OrderEvent._options.fields[name] for name in ORDER_FIELDS} == ORDER_TYPES
    # What the stock agent sends (plain dicts, not the record): the same, in order.
    event = order_event(Order(**ORDER), Located(None, 4, 1234, 5), "OrderRejected")
    assert tuple(event) == expected
    assert event == {
        "event": "OrderRejected",
        **ORDER,
        **dict(zip(EVENT_LAST, (4, 1234, 5), strict=True)),
    }
    schema = _committed_schema("order-events")
    assert tuple(schema["properties"]) == expected
    assert tuple(schema["required"]) == expected


def test_the_table_keeps_the_order_with_its_payment_and_events() -> None:
    assert tuple(f.name for f in dataclasses.fields(Order)) == (*ORDER_FIELDS, *TABLE_OWN)
    order = Order(**ORDER, payment="CHARGING", events=({"event": "OrderRejected"},))
    record = order_to_record(order)
    assert tuple(record) == (*ORDER_FIELDS, *TABLE_OWN)
    assert order_from_record(json.loads(json.dumps(record))) == order


def test_the_orders_row_is_the_order_with_its_status_rank() -> None:
    assert tuple(f.name for f in dataclasses.fields(order_rows.OrderRow)) == ORDER_FIELDS
    assert set(order_rows.COLUMNS) == {*ORDER_FIELDS, *ROW_OWN}
    assert set(_sql_columns("orders")) == {*ORDER_FIELDS, *ROW_OWN}
    inserted = re.match(r"INSERT INTO orders \(([^)]*)\)", order_rows.UPSERT_ORDERS)
    assert inserted and tuple(inserted[1].split(", ")) == order_rows.COLUMNS
    row = order_rows.order_row({"event": "OrderRejected", **ORDER, "command_offset": 1})
    assert row is not None and dataclasses.asdict(row) == ORDER
    params = dict(zip(order_rows.COLUMNS, order_rows.order_params(row), strict=True))
    assert {name: params[name] for name in ORDER_FIELDS if name not in ORDER_TIMES} == {
        name: ORDER[name] for name in ORDER_FIELDS if name not in ORDER_TIMES
    }
    assert params["expires_at"] == 1700000300_250000  # epoch microseconds


class _Cursor:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, statement: str, params: Any = None) -> None:
        self.statements.append(statement)

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []


def _selected(statement: str) -> tuple[str, ...]:
    """The names a SELECT gives its columns (``x``, or ``... AS x``)."""
    listed = re.match(r"SELECT (.*?) FROM ", statement)
    assert listed
    return tuple(item.split()[-1] for item in listed[1].split(", "))


def test_orders_are_read_from_mysql_with_the_orders_fields() -> None:
    cur = _Cursor()
    orders.select_order(cur, ORDER["order_id"])  # type: ignore[arg-type]
    orders.select_member_orders(cur, 7)  # type: ignore[arg-type]
    member_sql.orders_of(cur, 7)  # type: ignore[arg-type]
    assert [_selected(statement) for statement in cur.statements] == [ORDER_FIELDS] * 3


def test_the_redis_hash_holds_the_orders_fields() -> None:
    entry = order_projection.projection_entry(ORDER)
    assert tuple(entry[3::2]) == ORDER_FIELDS
    # What a reader makes of the hash (every value a string) is the order again.
    stored = dict(zip(entry[3::2], entry[4::2], strict=True))
    assert order_projection.typed_order({"rank": entry[0], **stored}) == ORDER
    assert order_projection.projection_of({"event": "OrderRejected", **ORDER}) == ORDER


def _openapi_order() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "api" / "openapi.yaml").read_text())
    schema: dict[str, Any] = document["components"]["schemas"]["Order"]
    return schema


def test_the_http_view_is_the_order_as_the_openapi_document_says() -> None:
    schema = _openapi_order()
    assert tuple(schema["properties"]) == ORDER_FIELDS
    assert tuple(schema["required"]) == ORDER_FIELDS
    internal = {"rank": "1", "status_rank": 1, "payment": "NONE", "command_offset": 9}
    assert tuple(order_body({**ORDER, **internal})) == ORDER_FIELDS
    assert tuple(order_view(dict.fromkeys(ORDER_FIELDS))) == ORDER_FIELDS
    json_types = {int: "integer", float: "string", str: "string"}
    for name, kind in ORDER_TYPES.items():
        declared = schema["properties"][name]
        types = declared.get("type", [])
        types = types if isinstance(types, list) else [types]
        if "enum" not in declared:
            assert json_types[base_type(kind)] in types, name
        assert ("null" in types) == is_optional(kind), name
        assert (declared.get("format") == "date-time") == (name in ORDER_TIMES), name


def test_the_payment_event_is_its_name_and_the_payment() -> None:
    assert _fields(PaymentEvent) == (*EVENT_FIRST, *PAYMENT_FIELDS)
    assert {name: PaymentEvent._options.fields[name] for name in PAYMENT_FIELDS} == PAYMENT_TYPES
    schema = _committed_schema("payment-events")
    assert tuple(schema["properties"]) == (*EVENT_FIRST, *PAYMENT_FIELDS)
    request = PaymentRequest(PAYMENT["order_id"], 3, 7, 10000, "CHARGE")
    result = GatewayResult(PAYMENT["order_id"], "CHARGE", "SUCCEEDED", 10000, PAYMENT["at"])
    sent = json.loads(payment_event(request, result).dumps())
    assert tuple(sent) == (*EVENT_FIRST, *PAYMENT_FIELDS)


def test_the_payments_row_is_the_payment_without_the_orders_product_and_member() -> None:
    stored = tuple(
        PAYMENT_COLUMN_OF.get(name, name)
        for name in PAYMENT_FIELDS
        if name not in PAYMENT_NOT_STORED
    )
    assert tuple(f.name for f in dataclasses.fields(payment_rows.PaymentRow)) == stored
    assert tuple(payment_rows.COLUMNS) == stored
    assert set(_sql_columns("payments")) == set(stored)
    inserted = re.match(r"INSERT INTO payments \(([^)]*)\)", payment_rows.INSERT_PAYMENTS)
    assert inserted and tuple(inserted[1].split(", ")) == stored
    row = payment_rows.payment_row({"event": "PaymentSucceeded", **PAYMENT})
    assert row is not None
    assert dataclasses.asdict(row) == {
        PAYMENT_COLUMN_OF.get(name, name): value
        for name, value in PAYMENT.items()
        if name not in PAYMENT_NOT_STORED
    }
