"""Reading and validating JSON request bodies, with the contract's error codes.

``read_json_object`` enforces the envelope (415 not JSON, 413 over 64 KiB, 400
malformed, 422 not an object); the ``require_*`` / ``optional_*`` helpers check
one field each and raise 422 VALIDATION_FAILED naming it. Booleans and floats
are never accepted as integers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api import jsons
from api.errors import ApiError, validation_error

MAX_BODY_BYTES = 64 * 1024
JSON_TYPES = ("application/json",)
MIN_YEAR, MAX_YEAR = 1970, 9999
# Control characters, and lone surrogates, which no UTF-8 column can store.
UNSTORABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_large() -> ApiError:
    return ApiError(413, "BODY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes")


async def read_json_object(request: web.Request) -> dict[str, Any]:
    content_type = request.content_type
    if content_type not in JSON_TYPES and not content_type.endswith("+json"):
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send Content-Type: application/json")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise _too_large() from exc
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        body = jsons.loads(raw)
        if isinstance(body, dict) and any(type(v) is float for v in body.values()):
            raise ValueError("orjson reads integers beyond 64 bits as floats")
    except ValueError:
        # orjson differs in places (big integers, some errors): the standard
        # library decides those, so a body means what it always meant.
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ApiError(400, "MALFORMED_JSON", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise validation_error("body", "the body must be a JSON object")
    return body


def _present(body: dict[str, Any], field: str) -> Any:
    if field not in body or body[field] is None:
        raise validation_error(field, f"{field} is required")
    return body[field]


def check_int(field: str, value: Any, minimum: int, maximum: int) -> int:
    if type(value) is not int:
        raise validation_error(field, f"{field} must be an integer")
    if not minimum <= value <= maximum:
        raise validation_error(field, f"{field} must be between {minimum} and {maximum}")
    return value


def require_int(body: dict[str, Any], field: str, minimum: int, maximum: int) -> int:
    return check_int(field, _present(body, field), minimum, maximum)


def optional_int(body: dict[str, Any], field: str, minimum: int, maximum: int, default: int) -> int:
    if body.get(field) is None:
        return default
    return check_int(field, body[field], minimum, maximum)


def require_str(body: dict[str, Any], field: str, max_length: int, min_length: int = 1) -> str:
    value = _present(body, field)
    if not isinstance(value, str):
        raise validation_error(field, f"{field} must be a string")
    if UNSTORABLE.search(value):
        raise validation_error(field, f"{field} must not contain control characters")
    if not min_length <= len(value) <= max_length:
        raise validation_error(field, f"{field} must have {min_length} to {max_length} characters")
    return value


def optional_datetime(body: dict[str, Any], field: str) -> datetime | None:
    """An RFC 3339 time with an offset, as an aware UTC datetime; None if absent."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or "T" not in value.upper():
        raise validation_error(field, f"{field} must be an RFC 3339 date-time")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise validation_error(field, f"{field} needs a time zone offset, e.g. Z")
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise validation_error(field, f"{field} must be an RFC 3339 date-time") from exc
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise validation_error(field, f"{field} must be between {MIN_YEAR} and {MAX_YEAR}")
    return parsed
