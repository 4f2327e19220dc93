"""The error vocabulary of the HTTP API and the one place it becomes a response.

Every refusal is an ``ApiError`` with a stable code; the middleware turns it, and
aiohttp's own HTTP errors, into ``{"error": {"code", "message", "field"?}}``.
Anything else is a bug: logged, and answered 500 without details.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

import pymysql
import redis.exceptions
from aiohttp import web

from api import jsons

log = logging.getLogger(__name__)

# Connection-level failures of MySQL or Redis: 503, never 500.
DEPENDENCY_DOWN = (
    pymysql.OperationalError,
    pymysql.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {
    400: "MALFORMED_JSON",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "BODY_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """A refusal the client can act on: HTTP status, stable code, message, field."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def validation_error(field: str, message: str) -> ApiError:
    return ApiError(422, "VALIDATION_FAILED", message, field=field)


def not_found(what: str = "resource") -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found")


def rate_limited(retry_after: int, message: str) -> ApiError:
    return ApiError(429, "RATE_LIMITED", message, headers={"Retry-After": str(retry_after)})


def unavailable(message: str) -> ApiError:
    return ApiError(503, "UNAVAILABLE", message)


def error_response(err: ApiError) -> web.Response:
    body: dict[str, str] = {"code": err.code, "message": err.message}
    if err.field is not None:
        body["field"] = err.field
    return jsons.answer({"error": body}, status=err.status, headers=err.headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except DEPENDENCY_DOWN as exc:
        # A server the request needs is unreachable: the client may retry later.
        log.warning("dependency unavailable on %s %s: %s", request.method, request.path, exc)
        return error_response(unavailable("a backing service is unavailable; retry shortly"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "HTTP_ERROR")
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return error_response(ApiError(exc.status, code, exc.reason, headers=headers))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ApiError(500, "INTERNAL", "internal error"))
